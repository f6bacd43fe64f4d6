"""How many tool processes and worker processes may run at once: ``--jobs``.

The engine sets it for the length of a run (``limited_to(jobs)``); the places that
start work read it (``parallelism()``): the slots for tool processes, the size of the
worker pool, and how many chunks a batch is split into. A context variable rather than
a parameter, so validators need not pass it through ``validate()``: the tasks of a run,
its batches included, inherit it from the run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from memo.validators import _process

_limit: ContextVar[int | None] = ContextVar("memo_parallelism", default=None)


def parallelism() -> int:
    """The current run's ``jobs``; outside a run (or when it gave none), one per core."""
    value = _limit.get()
    return _process.cores() if value is None else value


def scaled(per_core: int) -> int:
    """``per_core`` (a count sized for one per core) scaled to the current parallelism, at least 1."""
    return max(1, per_core * parallelism() // _process.cores())


@contextlib.contextmanager
def limited_to(jobs: int | None) -> Iterator[None]:
    """Within this block (and tasks started in it), ``parallelism()`` is ``jobs`` (None: one per core)."""
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"parallelism must be a positive integer, not {jobs!r}")
    token = _limit.set(jobs)
    try:
        yield
    finally:
        _limit.reset(token)
