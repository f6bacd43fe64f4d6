"""One shared process pool for CPU-bound validators (parsing, complexity), created on first use.

Pure-Python work on the event loop would serialise a run on one core; in worker
processes both cores are busy. Workers come from a forkserver that has already
imported the worker module, so starting one costs a fork, not an interpreter start,
and the parent's threads (asyncio, the cache) are never forked.

multiprocessing and ``concurrent.futures.process`` are imported when the pool is first
made: a warm run, every check a cache hit, never starts a worker and need not pay for
them. Until then every function here finds nothing to stop.

Nothing the pool starts imports from the user's working directory: the forkserver
starts without the current directory on ``sys.path`` (a project's own ``validators/``
or ``memo/`` would otherwise shadow ours), and each worker exits when memo is gone
(see ``memo.validators._workers.start_worker``).

A handful of files is checked in-process instead (``run_checks``): starting the pool
(the forkserver's interpreter, multiprocessing's resource tracker, the workers) costs
far more than compiling or measuring a few files, which is all a run with one file
edited needs. The budget (``IN_PROCESS_FILES`` files and ``IN_PROCESS_BYTES`` of source
until the pool is shut down) bounds what the pool's isolation was for: no file can
hold memo's interpreter (and so Ctrl-C) for long or swell its memory, the batch's
timeout still gives an error result, and an exception is that file's error result as
in a worker. Beyond the budget, or once the pool runs, everything goes to the pool.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from memo.validators import _parallelism
from memo.validators._process import ToolError

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
    from multiprocessing.connection import Connection
    from multiprocessing.context import BaseContext

T = TypeVar("T")
A = TypeVar("A")

_WORKER_MODULE = "memo.validators._workers"

_lock = threading.Lock()
_executor: ProcessPoolExecutor | None = None
_owner: tuple[Connection, Connection] | None = None
"""The pipe every worker watches (read end, write end): memo holds the only write end,
so its exit, however it happens, ends them. The read end stays open to hand to new workers."""

IN_PROCESS_FILES = 8
"""At most this many files are checked in-process until the pool is shut down."""
IN_PROCESS_BYTES = 512 * 1024
"""At most this much source is checked in-process until the pool is shut down."""
_in_process_spent = [0, 0]
"""Files and bytes checked in-process since the pool was last shut down."""
_thread: ThreadPoolExecutor | None = None
"""The one thread in-process work runs on: one batch at a time, as ``warnings.catch_warnings``
(process-wide state, used by the syntax check) needs."""


def workers() -> int:
    """How many worker processes the pool runs: the parallelism when it is created (one per core by default)."""
    return _parallelism.parallelism()


def _main_importable() -> bool:
    """Whether worker processes can import ``__main__`` as multiprocessing requires.

    A program read from stdin (``python - <<EOF``) names a main file that does not exist;
    its workers would die at start. Such programs get the work run in a thread instead.
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        return True
    path = getattr(main, "__file__", None)
    return path is None or os.path.exists(path)


def _safe_path_possible() -> bool:
    """Whether a new interpreter can be told not to put the current directory on ``sys.path``.

    ``PYTHONSAFEPATH`` (Python 3.11+) does it, unless the environment is ignored (``-E``
    without ``-I``; ``-I`` implies it and is passed on to the forkserver).
    """
    if sys.version_info < (3, 11):
        return False  # pragma: no cover - Python 3.10
    return bool(sys.flags.isolated or sys.flags.safe_path or not sys.flags.ignore_environment)


@contextlib.contextmanager
def _safe_path_environment() -> Iterator[None]:
    """``PYTHONSAFEPATH=1`` for the interpreters started inside (the forkserver's ``python -c``)."""
    previous = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["PYTHONSAFEPATH"]
        else:  # pragma: no cover - memo itself run with PYTHONSAFEPATH
            os.environ["PYTHONSAFEPATH"] = previous


def _context() -> BaseContext:
    """A forkserver that never imports from the working directory, or spawn where there is none.

    The forkserver runs ``python -c``, which puts the current directory first on
    ``sys.path``; it is started here, with that turned off, before it preloads the worker
    module. Where that cannot be done it preloads nothing: each worker then imports the
    worker module itself, through memo's own ``sys.path``.
    """
    import multiprocessing
    import multiprocessing.forkserver

    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover - Windows
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    if _safe_path_possible():
        context.set_forkserver_preload([_WORKER_MODULE])
        with _safe_path_environment():
            multiprocessing.forkserver.ensure_running()
    else:  # pragma: no cover - Python 3.10, or -E
        context.set_forkserver_preload([])
    return context


def executor() -> ProcessPoolExecutor:
    """The shared pool, created on first use and shut down at exit."""
    global _executor, _owner
    with _lock:
        if _executor is None:
            from concurrent.futures import ProcessPoolExecutor

            from memo.validators._workers import start_worker

            context = _context()
            _owner = context.Pipe(duplex=False)
            _executor = ProcessPoolExecutor(
                max_workers=workers(), mp_context=context, initializer=start_worker, initargs=(_owner[0],)
            )
        return _executor


def shutdown() -> None:
    """Stop the pool's workers (at exit, or after a worker died); the next use starts a new pool.

    The workers are killed rather than waited for: they hold nothing worth finishing, and
    waiting on a worker that never returns would hang the process at exit (the pool's
    own exit hook joins its workers). ``_processes`` is the executor's pid -> process map;
    without it the shutdown still happens, only waiting as the standard library does.
    """
    global _executor, _owner, _thread
    with _lock:
        pool, _executor = _executor, None
        owner, _owner = _owner, None
        thread, _thread = _thread, None
        _in_process_spent[:] = [0, 0]
    if thread is not None:
        thread.shutdown(wait=False)  # a batch still running there finishes on its own; nothing waits for it
    if pool is None:
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    pool.shutdown(wait=True)
    import concurrent.futures.process

    # The pool is joined: nothing is left for concurrent.futures' exit hook to wake. Its
    # entry would otherwise stay until the executor is collected, and the hook, writing to
    # a pipe that is gone by then, printed an "Exception ignored ... Bad file descriptor"
    # traceback at exit now and then.
    wakeups = getattr(concurrent.futures.process, "_threads_wakeups", None)
    manager = getattr(pool, "_executor_manager_thread", None)
    if wakeups is not None and manager is not None:
        with contextlib.suppress(Exception):
            wakeups.pop(manager, None)
    if owner is not None:
        for end in owner:
            end.close()


def kill_now() -> list[int]:
    """SIGKILL every worker and the forkserver at once, for a process about to exit; their pids.

    Called from a signal handler: it takes no lock and waits for nothing (the handler may
    have interrupted this very module holding its lock). The forkserver is memo's own;
    it is killed too, as it would otherwise linger until its last worker is reaped.
    """
    pids = [pid for pid in list(getattr(_executor, "_processes", None) or ()) if isinstance(pid, int)]
    forkserver_module = sys.modules.get("multiprocessing.forkserver")
    server = getattr(forkserver_module, "_forkserver", None)
    forkserver = getattr(server, "_forkserver_pid", None)
    if isinstance(forkserver, int):
        pids.append(forkserver)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return pids


atexit.register(shutdown)


async def run_in_pool(func: Callable[[A], T], arg: A, timeout: float) -> T:
    """``func(arg)`` in a worker process; ``ToolError`` if the worker died or took too long.

    A worker that overruns keeps its core until it finishes (a running call cannot be
    interrupted), but the caller gets its error result at once.
    """
    from concurrent.futures.process import BrokenProcessPool

    if not _main_importable():
        return await run_in_process(func, arg, timeout)
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(loop.run_in_executor(executor(), func, arg), timeout)
    except asyncio.TimeoutError:
        raise ToolError(f"worker timed out after {timeout:g} s") from None
    except BrokenProcessPool as exc:
        shutdown()
        raise ToolError(f"worker process died: {exc}") from exc


async def run_in_process(func: Callable[[A], T], arg: A, timeout: float) -> T:
    """``func(arg)`` on memo's one checking thread; ``ToolError`` if it took too long.

    As with a worker, an overrunning call keeps going (it cannot be interrupted) while
    the caller gets its error result at once.
    """
    global _thread
    with _lock:
        if _thread is None:
            from concurrent.futures import ThreadPoolExecutor

            _thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memo-checks")
        thread = _thread
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(loop.run_in_executor(thread, func, arg), timeout)
    except asyncio.TimeoutError:
        raise ToolError(f"worker timed out after {timeout:g} s") from None  # as from the pool


def _source_bytes(paths: Sequence[str]) -> int:
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):
            total += os.stat(path).st_size
    return total


def take_in_process(paths: Sequence[str]) -> bool:
    """Whether ``paths`` are to be checked in-process: the pool is not running and they fit the budget.

    If so, they are counted against it.
    """
    size = _source_bytes(paths)
    with _lock:
        files, spent = _in_process_spent
        if _executor is not None or files + len(paths) > IN_PROCESS_FILES or spent + size > IN_PROCESS_BYTES:
            return False
        _in_process_spent[:] = [files + len(paths), spent + size]
        return True


async def run_checks(func: Callable[[A], T], arg: A, paths: Sequence[str], timeout: float) -> T:
    """``func(arg)``, the check of ``paths``: in-process for a handful of files, else in the pool."""
    if take_in_process(paths):
        return await run_in_process(func, arg, timeout)
    return await run_in_pool(func, arg, timeout)


def resource_tracker() -> int | None:
    """The pid of multiprocessing's resource tracker, if this process started one.

    It is not killed with the workers: ``release_after_kill`` lets it exit cleanly.
    """
    pid = getattr(_tracker(), "_pid", None)
    return pid if isinstance(pid, int) else None


def _tracker() -> object:
    """multiprocessing's resource tracker, or None when multiprocessing was never used here."""
    module = sys.modules.get("multiprocessing.resource_tracker")
    return getattr(module, "_resource_tracker", None)


def release_after_kill() -> int | None:
    """After ``kill_now``: free the pool's named semaphores and let the resource tracker exit.

    The tracker (a process multiprocessing starts) removes semaphores left by a process
    that died, and warns about each on stderr. The multiprocessing finalizers of priority
    0 and above, which its own exit hook runs first, unlink them and tell the tracker;
    then memo's end of the tracker's pipe is closed, so the tracker exits (its other
    holders, the workers, are dead). Returns the tracker's pid, to wait for, or None.
    """
    util = sys.modules.get("multiprocessing.util")
    if util is None:
        return None  # multiprocessing never used: no pool, no semaphores, no tracker
    util._run_finalizers(0)
    fd = getattr(_tracker(), "_fd", None)
    if isinstance(fd, int):
        with contextlib.suppress(OSError):
            os.close(fd)
    return resource_tracker()
