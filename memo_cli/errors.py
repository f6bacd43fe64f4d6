"""Bad input from the user: one line on stderr, exit status 2, never a traceback."""

from __future__ import annotations

EXIT_PASSED = 0
EXIT_FAILED = 1
"""Findings, errors, or a check that could not run."""
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad arguments, a missing path, an unknown dimension, a bad config."""


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (or its type's name when it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__
