"""Run an external tool as a subprocess, bounded by a timeout, and never leave it behind.

Every tool process starts in its own session (process group). On timeout, on
cancellation, or on any other way out of ``run``, the whole group is sent SIGKILL and
the child is reaped, so no orphan outlives the validation that started it. The groups
of running tools are listed (``running_groups``) so that an interrupted memo can kill
them before it exits, and on Linux each tool is told to die with memo
(``PR_SET_PDEATHSIG``), so even a SIGKILLed memo leaves no tool behind. At most
``cores()`` limited tool processes run at once per event loop: batches beyond
that wait their turn instead of thrashing two cores with a dozen interpreters.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import sys
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from memo.credentials import tool_environment
from memo.validators import _parallelism


def cores() -> int:
    """How many CPUs this process may use (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1  # pragma: no cover - macOS, Windows


class ToolError(Exception):
    """The tool could not do its job: it could not start, crashed, or timed out."""


@dataclass(frozen=True)
class Completed:
    """What a finished tool process left: its exit status and both output streams."""

    returncode: int
    stdout: bytes
    stderr: bytes


_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def _slot(limited: bool) -> AsyncIterator[None]:
    if not limited:
        yield
        return
    loop = asyncio.get_running_loop()
    semaphore = _slots.get(loop)
    if semaphore is None:
        semaphore = _slots[loop] = asyncio.Semaphore(_parallelism.parallelism())
    async with semaphore:
        yield


_groups: set[int] = set()
"""Process groups of the tool processes started and not yet reaped (each tool leads its own)."""


def running_groups() -> tuple[int, ...]:
    """The process groups of every tool process still running, for a kill on the way out."""
    return tuple(_groups)


@functools.lru_cache(maxsize=1)
def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` on Linux, or None."""
    if not sys.platform.startswith("linux"):
        return None  # pragma: no cover - other systems: the kill on the way out must do
    try:
        import ctypes

        function: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - no libc to ask
        return None
    return function


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGKILL the child when memo dies, or None elsewhere.

    The libc function is looked up in the parent: the child, between fork and exec, only
    makes the call. If memo died before the request took effect, the child has been
    re-parented already and ends itself.
    """
    prctl = _prctl()
    if prctl is None:
        return None  # pragma: no cover - not Linux
    parent = os.getpid()

    def request() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return request


async def _spawn(argv: Sequence[str], cwd: str | None) -> asyncio.subprocess.Process:
    """Start ``argv`` in a new session with piped output (the seam tests wrap to see processes).

    The tool gets memo's environment without memo's credentials (``memo.credentials``).
    """
    return await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=tool_environment(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_die_with_parent(),
    )


def _kill(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the process's whole group (tools may start helpers), or the process alone."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - not POSIX
            process.kill()
    except ProcessLookupError:
        pass


def tool_name(argv: Sequence[str]) -> str:
    """The name messages give the tool: a launched script's (``python -c CODE NAME``), else the program's."""
    return argv[3] if len(argv) > 3 and argv[1] == "-c" else os.path.basename(argv[0])


async def run(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
    limited: bool = True,
) -> Completed:
    """Run ``argv`` to completion and return its output; raise ``ToolError`` if it cannot.

    ``timeout`` counts from the process's start, not from the wait for a free slot.
    """
    name = tool_name(argv)
    async with _slot(limited):
        try:
            process = await _spawn(argv, None if cwd is None else os.fspath(cwd))
        except OSError as exc:
            raise ToolError(f"could not start {name}: {exc}") from exc
        _groups.add(process.pid)
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
        except asyncio.TimeoutError:
            raise ToolError(f"{name} timed out after {timeout:g} s and was killed") from None
        finally:
            if process.returncode is None:
                _kill(process)
                # Shielded so a second cancellation cannot leave the killed child unreaped.
                with contextlib.suppress(asyncio.CancelledError, ProcessLookupError):
                    await asyncio.shield(process.wait())
            _groups.discard(process.pid)
    # communicate() returned, so the process has exited and been reaped.
    return Completed(process.returncode if process.returncode is not None else -1, stdout, stderr)


def describe_failure(name: str, completed: Completed) -> str:
    """A one-paragraph message for a tool that exited in a way its output cannot explain."""
    tail = completed.stderr.decode("utf-8", "replace").strip() or completed.stdout.decode("utf-8", "replace").strip()
    tail = tail[-500:] if tail else "no output"
    return f"{name} failed (exit status {completed.returncode}): {tail}"
