"""Top-level functions the process pool runs: picklable by name, importing only the stdlib and radon.

Each takes a whole batch of paths and returns ``{path: Outcome}``, so one pool task (one
round of IPC) serves many files. Files are read here, in the worker, to keep file
contents off the pipe. ``start_worker`` runs first in every worker: it ties the worker's
life to memo's.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from memo.validators._outcome import Outcome, RawFinding

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

_SYNTAX_CODES = {"IndentationError": "indentation-error", "TabError": "tab-error"}


def start_worker(owner: Connection) -> None:
    """Make this worker ignore Ctrl-C and exit as soon as memo (the pool's owner) is gone.

    Ctrl-C at a terminal reaches the whole process group: it is memo's to handle (it kills
    its workers), and a worker interrupted mid-task would only print a traceback. Memo
    holds the only write end of ``owner``; when memo exits, however it exits (SIGKILL
    included), the read end sees end-of-file and the watching thread ends the worker.
    Without it a worker outlives memo forever, waiting on a task queue it holds open itself.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            owner.recv_bytes()
        os._exit(0)

    threading.Thread(target=watch, name="memo-owner-watch", daemon=True).start()


def _read(path: str) -> bytes | Outcome:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        return Outcome(error=f"cannot read file: {exc.strerror or exc}")


def _nul_finding(data: bytes) -> RawFinding | None:
    """Where the first NUL byte is: Python refuses such source, and it usually means a binary file."""
    at = data.find(b"\0")
    if at < 0:
        return None
    line = data.count(b"\n", 0, at) + 1
    column = at - (data.rfind(b"\n", 0, at) + 1) + 1
    return (line, column, "null-bytes", "file contains a NUL byte (binary file?); Python cannot parse it", "error")


def _syntax_error_finding(exc: SyntaxError) -> RawFinding:
    message = exc.msg or str(exc)
    if message.startswith("(unicode error)") or isinstance(exc.__cause__, UnicodeError):
        code = "encoding-error"
    else:
        code = _SYNTAX_CODES.get(type(exc).__name__, "syntax-error")
    return (max(exc.lineno or 1, 1), max(exc.offset or 1, 1), code, message, "error")


def _syntax_of(path: str) -> Outcome:
    data = _read(path)
    if isinstance(data, Outcome):
        return data
    nul = _nul_finding(data)
    if nul is not None:
        return Outcome((nul,))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # A full compile, not just ast.parse: it also rejects what only the compiler
            # checks ('return' outside a function, nonlocal at module level, ...).
            compile(data, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            return Outcome((_syntax_error_finding(exc),))
        except (RecursionError, MemoryError, ValueError) as exc:
            message = f"source is too deeply nested to compile: {type(exc).__name__}: {exc}"
            return Outcome(((1, 1, "too-complex", message, "error"),))
    findings = tuple(
        (int(w.lineno or 1), 1, "syntax-warning", str(w.message), "warning")
        for w in caught
        if issubclass(w.category, (SyntaxWarning, DeprecationWarning)) and w.filename == path
    )
    return Outcome(findings)


def _guarded(check: Callable[..., Outcome], path: str, *args: Any) -> Outcome:
    """``check(path, *args)``, with an unexpected exception as that file's error, not the batch's."""
    try:
        return check(path, *args)
    except Exception as exc:  # one odd file must not fail its whole batch
        return Outcome(error=f"{type(exc).__name__}: {exc}")


def check_syntax(paths: Sequence[str]) -> dict[str, Outcome]:
    """For each path: does it compile? Findings for syntax errors and compiler warnings."""
    return {path: _guarded(_syntax_of, path) for path in paths}


def _complexity_of(path: str, max_complexity: int) -> Outcome:
    from radon.complexity import cc_rank, cc_visit

    data = _read(path)
    if isinstance(data, Outcome):
        return data
    try:
        blocks = cc_visit(importlib.util.decode_source(data))
    except (SyntaxError, ValueError, UnicodeError, RecursionError, MemoryError) as exc:
        message = f"cannot measure complexity: the file does not parse ({type(exc).__name__}: {exc})"
        return Outcome(((getattr(exc, "lineno", None) or 1, 1, "unparsable", message, "error"),))
    # Methods are listed at top level as well as inside their class, so classes are
    # skipped; closures are only inside their function.
    functions = []
    pending = [block for block in blocks if not hasattr(block, "methods")]
    while pending:
        block = pending.pop()
        functions.append(block)
        pending.extend(getattr(block, "closures", ()))
    findings = [
        (
            block.lineno,
            block.col_offset + 1,
            "too-complex",
            f"{block.fullname!r} has cyclomatic complexity {block.complexity} (rank {cc_rank(block.complexity)}), "
            f"above max_complexity {max_complexity}",
            "warning",
        )
        for block in functions
        if block.complexity > max_complexity
    ]
    return Outcome(tuple(sorted(findings)))


def measure_complexity(job: tuple[Sequence[str], int]) -> dict[str, Outcome]:
    """For each path: one finding per function whose cyclomatic complexity is over the limit."""
    paths, max_complexity = job
    return {path: _guarded(_complexity_of, path, max_complexity) for path in paths}
