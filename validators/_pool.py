"""One shared process pool for CPU-bound validators (parsing, complexity), created on first use.

Pure-Python work on the event loop would serialise a run on one core; in worker
processes both cores are busy. Workers come from a forkserver that has already
imported the worker module, so starting one costs a fork, not an interpreter start,
and the parent's threads (asyncio, the cache) are never forked.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from typing import TypeVar

from validators import _parallelism
from validators._process import ToolError

T = TypeVar("T")
A = TypeVar("A")

_WORKER_MODULE = "validators._workers"

_lock = threading.Lock()
_executor: ProcessPoolExecutor | None = None


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


def executor() -> ProcessPoolExecutor:
    """The shared pool, created on first use and shut down at exit."""
    global _executor
    with _lock:
        if _executor is None:
            methods = multiprocessing.get_all_start_methods()
            context: BaseContext
            if "forkserver" in methods:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload([_WORKER_MODULE])
            else:  # pragma: no cover - Windows, macOS without forkserver
                context = multiprocessing.get_context("spawn")
            _executor = ProcessPoolExecutor(max_workers=workers(), mp_context=context)
        return _executor


def shutdown() -> None:
    """Stop the pool's workers (at exit, or after a worker died); the next use starts a new pool.

    The workers are killed rather than waited for: they hold nothing worth finishing, and
    waiting on a worker that never returns would hang the process at exit (the pool's
    own exit hook joins its workers). ``_processes`` is the executor's pid -> process map;
    without it the shutdown still happens, only waiting as the standard library does.
    """
    global _executor
    with _lock:
        pool, _executor = _executor, None
    if pool is None:
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    pool.shutdown(wait=True)


atexit.register(shutdown)


async def run_in_pool(func: Callable[[A], T], arg: A, timeout: float) -> T:
    """``func(arg)`` in a worker process; ``ToolError`` if the worker died or took too long.

    A worker that overruns keeps its core until it finishes (a running call cannot be
    interrupted), but the caller gets its error result at once.
    """
    loop = asyncio.get_running_loop()
    pool = executor() if _main_importable() else None
    try:
        return await asyncio.wait_for(loop.run_in_executor(pool, func, arg), timeout)
    except asyncio.TimeoutError:
        raise ToolError(f"worker timed out after {timeout:g} s") from None
    except BrokenProcessPool as exc:
        shutdown()
        raise ToolError(f"worker process died: {exc}") from exc
