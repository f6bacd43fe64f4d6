"""The engine: runs validators over the files under a root, through memo's cache, and reports.

It does discovery, scheduling and aggregation and nothing about keys or storage: the
whole run happens inside ``memo.bind_cache`` with this run's cache and root, and each
validator sees only its own section of the config, so its cache key holds only the
options that affect it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import itertools
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import memo
from memo import ValidationCache, ValidationResult, witness
from memo.engine import config as config_module
from memo.engine import plugins
from memo.engine.deadline import TimedOut, with_timeout
from memo.engine.discovery import discover
from memo.engine.errors import EngineError
from memo.engine.filesets import FileSet, file_sets
from memo.engine.report import ProgressCallback, Report
from memo.engine.resultlog import ResultLog
from memo.engine.schedule import CHECKS_PER_CORE as CHECKS_PER_CORE  # re-exported: its old home
from memo.engine.schedule import Check, Lane, Tracker, checks_in_flight, plan, queues, segments, work
from memo.engine.trust import TRUST_ENV, Trust, resolve_trust
from memo.validators import Validator
from memo.validators._parallelism import limited_to
from memo.validators._process import cores

log = logging.getLogger("memo")

PREFETCH_CHUNK = 256
"""Checks whose cache entries are read together, in one query, as a lane hands them out."""


def default_jobs() -> int:
    """Parallelism when none is given: one tool or worker process per core."""
    return cores()


class Engine:
    """Runs validators over the files under ``root`` and reports.

    ``cache``: the cache to use. Without one, a ``ValidationCache`` at ``cache_dir`` (or
    the default directory) is created, unless caching is off (``use_cache=False``,
    ``VALIDATION_CACHE_ENABLED=false``, or diskcache missing): then nothing touches disk.
    ``jobs``: how many tool processes (and worker processes) run at once, as ``--jobs``
    means for ruff or pytest-xdist; the checks in flight, and so the batch sizes, follow
    from it (``CHECKS_PER_CORE`` per job).
    Subclasses (a rendered ``orchestrator.py``) set the ``default_*`` class attributes.
    """

    default_validators: ClassVar[Sequence[type[Validator]] | None] = None
    """Validators run when none are given; None: every per-file validator found."""
    default_jobs: ClassVar[int | None] = None
    """Parallelism when ``jobs`` is not given; None: one per core."""
    default_config: ClassVar[Mapping[str, Any]] = {}
    """The config used when none is given."""

    def __init__(
        self,
        root: Path | str | None = None,
        config: Mapping[str, Any] | None = None,
        validators: Sequence[type[Validator]] | None = None,
        cache: ValidationCache | None = None,
        jobs: int | None = None,
        *,
        cache_dir: Path | str | None = None,
        use_cache: bool = True,
        progress: ProgressCallback | None = None,
        trust_project: Trust | str | bool | None = None,
    ) -> None:
        self.root = Path.cwd() if root is None else Path(root)
        raw = self.default_config if config is None else config
        if not isinstance(raw, Mapping):
            raise EngineError(f"config must be a table/object, not {type(raw).__name__}")
        trust = resolve_trust(trust_project)
        self.trust = trust
        known = plugins.registry(raw, self.root, trust)
        self.not_loaded = plugins.not_loaded(raw, trust)
        """The project's validators the config names and this run leaves out (the project is not trusted)."""
        if self.not_loaded:
            log.warning(
                "memo: warning: not loading the project's validators %s: they are code from the checkout; "
                "run with --trust-project (or %s=1) to load them",
                ", ".join(self.not_loaded),
                TRUST_ENV,
            )
        if validators is None:
            validators = self.default_validators or plugins.default_validators(known)
        self.validators = list(validators)
        self.config = config_module.check(raw, self.validators, known)
        self._slices = {cls: config_module.slice_for(cls, self.config) for cls in self.validators}
        self.jobs = _checked_jobs(self.default_jobs if jobs is None else jobs)
        self.timeout = float(self.config["timeout"])
        self.progress = progress
        self._owns_cache = cache is None and use_cache and memo.CACHE_AVAILABLE and memo.caching_enabled()
        if self._owns_cache:
            cache = ValidationCache(cache_dir)
        self.cache: ValidationCache | None = cache if use_cache else None
        self.planned: list[Lane] = []
        """The lanes of the last ``run``: which validator checked which files, in check order."""
        self.file_sets: Mapping[type[Validator], FileSet | None] = {}
        """The file sets of the last ``run`` (``memo.engine.filesets``), with the witnesses that decide them."""

    def config_for(self, cls: type[Validator]) -> dict[str, Any]:
        """What ``cls`` sees of the config: its own section only (one object for the whole run)."""
        found = self._slices.get(cls)
        if found is None:
            found = self._slices[cls] = config_module.slice_for(cls, self.config)
        return found

    # -- running ----------------------------------------------------------------------------

    async def run(self, paths: Iterable[str | os.PathLike[str]] | None = None) -> Report:
        """Validate the files under ``paths`` (default: the whole root) and report."""
        started = time.perf_counter()
        files = discover(
            self.root,
            paths,
            include=self.config.get("include", ()),
            exclude=self.config.get("exclude", ()),
        )
        sets = await asyncio.to_thread(file_sets, self.root, self.validators, self.config_for, files)
        lanes = plan(self.validators, files, sets)
        self.planned = lanes
        self.file_sets = sets
        tracker = Tracker(lanes, self.progress)
        results = ResultLog(segments(lanes), tracker.checks_total)
        prepared: dict[int, Validator] = {}
        check = functools.partial(self._check, prepared=prepared)
        with memo.bind_cache(self.cache, root=self.root), limited_to(self.jobs):
            try:
                await asyncio.gather(
                    *(
                        work(prefetched, check, results.record, tracker)
                        for queue, workers in queues(lanes, checks_in_flight(self.jobs))
                        for prefetched in [self._prefetched(queue, prepared)]
                        for _ in range(workers)
                    )
                )
            finally:
                if self.cache is not None:
                    self.cache.forget_prefetched()
        return Report(
            results=results,
            files=tracker.files_total,
            dimension_names=tuple(dict.fromkeys(cls.dimension for cls in self.validators)),
            wall_time_s=time.perf_counter() - started,
            root=self.root,
            cache_enabled=self.cache is not None and memo.caching_enabled(),
            not_loaded=self.not_loaded,
        )

    def run_sync(self, paths: Iterable[str | os.PathLike[str]] | None = None) -> Report:
        """``run`` in a fresh event loop, for callers that are not async."""
        return asyncio.run(self.run(paths))

    def _prefetched(self, queue: Iterator[Check], prepared: dict[int, Validator]) -> Iterator[Check]:
        """The checks of ``queue``, the cache entries of each chunk read in one query before it is handed out.

        Each chunk's validators are made here and kept in ``prepared`` for ``_check``;
        ``memo.prefetch`` plans their keys once and reads their entries together. One
        that cannot be made or planned here is left to ``_check``, which reports why.
        """
        while chunk := list(itertools.islice(queue, PREFETCH_CHUNK)):
            made: dict[int, Validator] = {}
            for check in chunk:
                if check.file_path is not None:
                    with contextlib.suppress(Exception):
                        made[check.index] = check.validator(
                            check.file_path, self.config_for(check.validator), self.root
                        )
            with contextlib.suppress(Exception):  # each call then plans on its own, and says what failed
                memo.prefetch(made.values())
            prepared.update(made)
            yield from chunk

    async def _check(self, check: Check, prepared: dict[int, Validator] | None = None) -> ValidationResult:
        """One validator on one file; a crash, a hang or a wrong return value becomes an error result."""
        cls, file_path = check.validator, check.file_path
        started = time.perf_counter()
        try:
            made = None if prepared is None else prepared.pop(check.index, None)
            validator = made if made is not None else cls(file_path, self.config_for(cls), self.root)
            result = await with_timeout(validator.validate(), self.timeout)
            witness.declared(validator)  # a recording run (memo.manifest) learns what the context stood on
        except TimedOut:
            return _failed(cls, file_path, f"timed out after {self.timeout:g}s", started)
        except Exception as exc:
            return _failed(cls, file_path, f"{type(exc).__name__}: {exc}", started)
        if not isinstance(result, ValidationResult):
            return _failed(cls, file_path, f"validate() returned {type(result).__name__}", started)
        if result.file_path is None and file_path is not None:
            # A result says which file it is about, whether or not its validator said so.
            result = dataclasses.replace(result, file_path=str(file_path))
        return result

    # -- the cache --------------------------------------------------------------------------

    def clear_cache(self) -> int:
        """Remove every cached result; how many were removed (0 without a cache)."""
        return 0 if self.cache is None else self.cache.invalidate_all()

    def cache_stats(self) -> dict[str, Any]:
        """The cache's counters and size; ``{"available": False}`` without a cache."""
        return {"available": False} if self.cache is None else self.cache.stats()

    def close(self) -> None:
        """Close the cache if this engine created it."""
        if self._owns_cache and self.cache is not None:
            self.cache.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _checked_jobs(jobs: int | None) -> int:
    """``jobs``, or the default for this machine when None; ``EngineError`` unless a positive int."""
    if jobs is None:
        return default_jobs()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise EngineError(f"jobs must be a positive integer, not {jobs!r}")
    return jobs


def _failed(cls: type[Validator], file_path: Path | None, error: str, started: float) -> ValidationResult:
    return ValidationResult(
        cls.dimension,
        passed=False,
        file_path=None if file_path is None else str(file_path),
        error=error,
        duration_s=time.perf_counter() - started,
    )
