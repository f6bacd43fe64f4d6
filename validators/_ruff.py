"""Run ruff over a chunk of files with JSON output and split its diagnostics per file.

Shared by ``lint`` (``ruff check``) and ``format`` (``ruff format --check``): both print
the same JSON diagnostic list, one entry per finding, each naming its file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from validators import _process
from validators._batched import PathIndex
from validators._outcome import Outcome, RawFinding
from validators._tools import Tool

_SEVERITIES = {"error": "error", "warning": "warning", "info": "info"}


def _finding(entry: Mapping[str, Any]) -> RawFinding:
    location = entry.get("location") or {}
    code = entry.get("code") or entry.get("name") or "ruff"
    severity = _SEVERITIES.get(str(entry.get("severity", "error")).lower(), "error")
    return (
        int(location.get("row") or 1),
        int(location.get("column") or 1),
        str(code),
        str(entry.get("message", "")),
        severity,
    )


async def run_ruff(tool: Tool, subcommand: Sequence[str], paths: Sequence[str], timeout: float) -> dict[str, Outcome]:
    """``ruff <subcommand> --output-format json <paths>``: ``{path: Outcome}`` for files with findings.

    Exit statuses 0-2 all carry a diagnostic list (2 when some file could not be parsed
    or read); anything else, or output that is not that list, is a tool failure.
    ``--isolated`` keeps ruff to the options memo passes (which are part of the cache
    key), and ``--no-cache`` stops it writing ``.ruff_cache`` into the working directory.
    """
    argv = [*tool.argv, *subcommand, "--isolated", "--no-cache", "--output-format", "json", "--", *paths]
    completed = await _process.run(argv, timeout=timeout)
    try:
        entries = json.loads(completed.stdout) if completed.returncode in (0, 1, 2) else None
    except ValueError:
        entries = None
    if not isinstance(entries, list):
        raise _process.ToolError(_process.describe_failure("ruff", completed))
    index = PathIndex(paths)
    found: dict[str, list[RawFinding]] = {}
    for entry in entries:
        path = index.find(str(entry.get("filename", ""))) if isinstance(entry, dict) else None
        if path is None:
            raise _process.ToolError(f"ruff reported a file it was not given: {entry!r:.200}")
        found.setdefault(path, []).append(_finding(entry))
    return {path: Outcome(tuple(sorted(rows))) for path, rows in found.items()}
