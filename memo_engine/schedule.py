"""How a run's checks are laid out and handed to workers.

One lane per validator, each a list of paths rather than of check objects (a warm run
over a large tree holds little more than its results). Validators run side by side, so
while one waits on its tool another keeps the other core busy; and the checks of one
validator that wait together reach it together, so a batching validator gets batches.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from memo import ValidationResult
from memo.engine.filesets import FileSets, selected
from memo.engine.report import Progress, ProgressCallback
from memo.validators import Validator

CHECKS_PER_CORE = 256
"""Checks in flight per job (per tool process allowed to run at once).

Generous because most validators batch: calls waiting together share one tool process,
and each validator's share of the checks in flight is the largest batch its tool is given.
"""


def checks_in_flight(jobs: int) -> int:
    """How many checks are handed out at once for a run with parallelism ``jobs``."""
    return CHECKS_PER_CORE * jobs


@dataclass(frozen=True, slots=True)
class Check:
    """One validator on one file (None: the whole project); ``index`` is its place in the report."""

    index: int
    validator: type[Validator]
    file_path: Path | None


@dataclass
class Lane:
    """One validator's checks, made one at a time as workers take them."""

    validator: type[Validator]
    segments: list[tuple[int, Sequence[Path | None]]]
    """``(index of the first check, paths)``: more than one when a validator is listed twice."""

    def __len__(self) -> int:
        return sum(len(paths) for _, paths in self.segments)

    def __iter__(self) -> Iterator[Check]:
        cls = self.validator
        for start, paths in self.segments:
            for index, path in enumerate(paths, start):
                yield Check(index, cls, path)


def segments(lanes: Sequence[Lane]) -> list[tuple[int, str, Sequence[Path | None]]]:
    """Every lane's segments as ``(index of the first check, dimension, paths)``."""
    return [(start, lane.validator.dimension, paths) for lane in lanes for start, paths in lane.segments]


def plan(validators: Sequence[type[Validator]], files: Sequence[Path], file_sets: FileSets | None = None) -> list[Lane]:
    """One lane per validator: project-level checks first (they are the slow ones), then per-file checks.

    A per-file validator gets the ``files`` in its set (``memo.engine.filesets``), or
    those it ``applies_to`` without one. A check's index (its place in the report)
    counts through them in that order.
    """
    sets = file_sets or {}
    lanes: dict[type[Validator], Lane] = {}
    planned = 0
    for project_level in (True, False):
        for cls in validators:
            if cls.per_file == project_level:
                continue
            paths: Sequence[Path | None] = [None] if project_level else selected(cls, files, sets.get(cls))
            lanes.setdefault(cls, Lane(cls, [])).segments.append((planned, paths))
            planned += len(paths)
    return [lane for lane in lanes.values() if len(lane)]


def queues(lanes: Sequence[Lane], workers: int) -> list[tuple[Iterator[Check], int]]:
    """One queue per lane with its share of ``workers``; one shared queue when there are fewer workers than lanes."""
    total = sum(len(lane) for lane in lanes)
    if workers < len(lanes):
        return [(itertools.chain.from_iterable(lanes), min(workers, total))]
    share, extra = divmod(workers, max(1, len(lanes)))
    return [(iter(lane), min(share + (number < extra), len(lane))) for number, lane in enumerate(lanes)]


async def work(
    queue: Iterator[Check],
    check: Callable[[Check], Awaitable[ValidationResult]],
    record: Callable[[int, ValidationResult], None],
    tracker: Tracker,
) -> None:
    """One worker: take checks from ``queue`` until it is empty, recording each result.

    It yields to the loop after every check. A cache hit completes without suspending,
    so without the yield one worker would run through its whole lane before any other
    started: on a warm run the validators would run one after another, no file would
    be finished until the last one started, and the progress bar would sit at 0.
    With it, the workers of every lane take turns and files finish in order.
    """
    for item in queue:
        result = await check(item)
        record(item.index, result)
        tracker.done(item, result)
        await asyncio.sleep(0)


class Tracker:
    """Counts finished checks per file and reports progress after each one."""

    def __init__(self, lanes: Sequence[Lane], callback: ProgressCallback | None) -> None:
        self.remaining: dict[Path, int] = {}
        for lane in lanes:
            for _, paths in lane.segments:
                for path in paths:
                    if path is not None:
                        self.remaining[path] = self.remaining.get(path, 0) + 1
        self.files_total = len(self.remaining)
        self.files_done = 0
        self.checks_total = sum(len(lane) for lane in lanes)
        self.checks_done = 0
        self.hits = 0
        self.callback = callback

    def done(self, check: Check, result: ValidationResult) -> None:
        self.checks_done += 1
        self.hits += result.cached
        if check.file_path is not None:
            left = self.remaining[check.file_path] - 1
            self.remaining[check.file_path] = left
            self.files_done += left == 0
        if self.callback is not None:
            self.callback(Progress(self.files_done, self.files_total, self.checks_done, self.checks_total, self.hits))
