"""The ``memo`` command line: ``run``, ``cache``, ``render``, and the report formats.

It sits on top of ``memo.engine``; nothing below it imports it. This module only
re-exports the entry points.
"""

from __future__ import annotations

from memo.cli.app import build_parser, command, exit_now, main, run_main
from memo.cli.errors import UsageError

__all__ = ["UsageError", "build_parser", "command", "exit_now", "main", "run_main"]
