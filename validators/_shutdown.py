"""Ctrl-C and SIGTERM end memo at once: every child killed, one line on stderr, exit 130 or 143.

Unwinding a run by cancellation (asyncio's own SIGINT handling) has to get every task,
tool process and pool worker through its cancellation path, and at that moment the
event loop, the process pool's manager thread and the interpreter's exit hooks are all
tearing down together: it hung, or printed tracebacks from the pool, or left workers
behind. Nothing a run holds needs finishing: results are written to the cache in
transactions (an interrupted one is rolled back, as after a crash), and the report is
not written. So on the signal memo kills what it started (tool process groups, pool
workers, the forkserver: every process below it), waits a moment until they are gone,
writes one line and exits without unwinding (``os._exit``). The kills take no lock;
the tidying after them, which may, runs in a helper thread joined for a bounded time,
so nothing the handler interrupted can keep memo from exiting.

Children also die on their own when memo is killed outright (SIGKILL): see
``memo.validators._process`` (tool processes) and ``memo.validators._workers.start_worker``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from types import FrameType
from typing import Any

from memo.validators import _pool, _process

SIGNALS = (signal.SIGINT, signal.SIGTERM)
MESSAGE = "memo: interrupted"
_GRACE_S = 1.0
"""How long to wait for SIGKILLed children to be gone before exiting anyway."""


def kill_children() -> list[int]:
    """SIGKILL every process memo started, and their children; the pids killed.

    The pool and the list of running tools name most of them; the process table names
    the rest, such as a tool started a moment ago whose pipes asyncio is still
    connecting. Each tool leads a process group of its own: the group is killed too.
    multiprocessing's resource tracker is spared: it is told to exit in ``_tidy``.
    """
    killed: list[int] = []
    for group in _process.running_groups():
        with contextlib.suppress(OSError):
            os.killpg(group, signal.SIGKILL)
            killed.append(group)
    killed += _pool.kill_now()
    own_group = os.getpgrp()
    spared = _pool.resource_tracker()
    for pid in _descendants(os.getpid()):
        if pid == spared:
            continue
        with contextlib.suppress(OSError):
            if os.getpgid(pid) == pid != own_group:
                os.killpg(pid, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed


def _descendants(root: int) -> list[int]:
    """Every live process below ``root``, parents before children (empty without ``/proc``)."""
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:  # pragma: no cover - not Linux
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != b"Z":
            children.setdefault(int(fields[1]), []).append(int(name))
    found: list[int] = []
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), ()):
            found.append(child)
            pending.append(child)
    return found


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie counts: it runs nothing and holds no pipe)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except FileNotFoundError:
        return True
    except OSError:  # pragma: no cover - no /proc: trust the kill
        return True


def _wait_gone(pids: Iterable[int], grace: float) -> None:
    pending = list(pids)
    deadline = time.monotonic() + grace
    while pending and time.monotonic() < deadline:
        pending = [pid for pid in pending if not _gone(pid)]
        if pending:
            time.sleep(0.005)


def _tidy(killed: list[int]) -> None:
    """Wait until the killed children are gone, then free what the pool leaves behind."""
    _wait_gone(killed, _GRACE_S)
    tracker = _pool.release_after_kill()
    if tracker is not None:
        _wait_gone([tracker], _GRACE_S)


def stop(signum: int, frame: FrameType | None = None) -> None:
    """The signal handler: kill the children, say so in one line, exit ``128 + signum``.

    The waiting and tidying run in a helper thread joined for a bounded time: if they
    block on a lock the interrupted code holds, memo still exits, a moment later.
    """
    killed = kill_children()
    helper = threading.Thread(target=_tidy, args=(killed,), name="memo-stop", daemon=True)
    helper.start()
    helper.join(_GRACE_S)
    line = MESSAGE + "\n"
    if _is_terminal(2):
        # A progress bar may have hidden the cursor and left a half-drawn line.
        line = "\r\x1b[2K\x1b[?25h" + line
    with contextlib.suppress(OSError):
        os.write(2, line.encode())
    os._exit(128 + signum)


def _is_terminal(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:  # pragma: no cover
        return False


@contextlib.contextmanager
def exit_on_signals() -> Iterator[None]:
    """Inside: SIGINT and SIGTERM call ``stop``. The previous handlers come back after.

    Handlers can only be set from the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}
    try:
        for signum in SIGNALS:
            previous[signum] = signal.signal(signum, stop)
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
