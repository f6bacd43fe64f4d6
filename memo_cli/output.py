"""Writing a report where the user asked: stdout (quiet when the reader has gone) or a file."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from memo.cli.errors import UsageError, one_line


def reader_left() -> None:
    """The reader closed the pipe (``memo run | head``): not an error worth a traceback."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def write_report(write: Callable[[TextIO], None], output: str | None) -> None:
    """Hand ``write`` stdout or the file ``output`` (its directory made if missing)."""
    if output is None:
        try:
            write(sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:
            reader_left()
        return
    try:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        with open(output, "w", encoding="utf-8") as out:
            write(out)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {one_line(exc)}") from None


def write_text(text: str, output: str | None) -> None:
    """``write_report`` for a report that is already one string."""

    def write(out: TextIO) -> None:
        out.write(text)

    write_report(write, output)
