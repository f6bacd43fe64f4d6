"""Run an external tool as a subprocess, bounded by a timeout, and never leave it behind.

Every tool process starts in its own session (process group). On timeout, on
cancellation, or on any other way out of ``run``, the whole group is sent SIGKILL and
the child is reaped, so no orphan outlives the validation that started it. At most
``cores()`` limited tool processes run at once per event loop: batches beyond
that wait their turn instead of thrashing two cores with a dozen interpreters.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from validators import _parallelism


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


async def _spawn(argv: Sequence[str], cwd: str | None) -> asyncio.subprocess.Process:
    """Start ``argv`` in a new session with piped output (the seam tests wrap to see processes)."""
    return await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
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
    name = os.path.basename(argv[0]) if len(argv) < 3 or argv[1] != "-m" else argv[2]
    async with _slot(limited):
        try:
            process = await _spawn(argv, None if cwd is None else os.fspath(cwd))
        except OSError as exc:
            raise ToolError(f"could not start {name}: {exc}") from exc
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
    # communicate() returned, so the process has exited and been reaped.
    return Completed(process.returncode if process.returncode is not None else -1, stdout, stderr)


def describe_failure(name: str, completed: Completed) -> str:
    """A one-paragraph message for a tool that exited in a way its output cannot explain."""
    tail = completed.stderr.decode("utf-8", "replace").strip() or completed.stdout.decode("utf-8", "replace").strip()
    tail = tail[-500:] if tail else "no output"
    return f"{name} failed (exit status {completed.returncode}): {tail}"
