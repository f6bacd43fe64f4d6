"""Run validators over a tree, concurrently and through memo's cache, and gather a report.

Generated from ``orchestrator.py.j2`` by ``memo render``: edit the template, then run
``memo render -o orchestrator.py``; a test fails when the two drift apart.

The orchestrator is thin on purpose. It finds the files (git's view of the tree when
there is one), runs each validator on each file it applies to with bounded concurrency,
and adds the results up. Keys, hashing, locking and storage are memo's business: the
whole run happens inside ``memo.bind_cache`` with this run's cache and config, so two
orchestrators with different configs never share a result.

Copied into a project where memo is installed, ``python orchestrator.py [PATHS...]``
does what ``memo run`` does, with the defaults rendered below.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import stat
import subprocess  # nosec B404 - runs only git ls-files, with a fixed argv and no shell
import sys
import time
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec

import memo
from memo import ValidationCache, ValidationResult
from validators import DEFAULT_DIMENSIONS as REGISTRY_DEFAULT_DIMENSIONS
from validators import Validator, resolve

DEFAULT_DIMENSIONS: tuple[str, ...] | None = None
"""The dimensions run when none are named; None means the registry's defaults."""

DEFAULT_JOBS: int | None = None
"""How many checks run at once when ``jobs`` is not given; None means ``256 * cpu``."""

DEFAULT_CONFIG: dict[str, Any] = {}
"""The config used when none is given."""

DEFAULT_TIMEOUT = 300.0
"""Seconds one ``validate()`` may take before it is abandoned (config key ``timeout``)."""

RUN_KEYS = frozenset({"include", "exclude", "timeout"})
"""Top-level config keys the orchestrator consumes: validators never see them, so they
are not part of any cache key (editing an exclude glob invalidates nothing)."""

SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "__pycache__",
        "node_modules",
        "build",
        "dist",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
        ".benchmarks",
        "site-packages",
        "dist-packages",
    }
)
"""Directories never walked into outside git (and never taken from git's untracked files).

Installed third-party code (``site-packages``) is never the project's own.
"""


class OrchestratorError(ValueError):
    """A run cannot start: a missing path, a tree that cannot be read, or a bad config."""


@dataclass(frozen=True)
class Progress:
    """How far a run has got; passed to the ``progress`` callback after every check."""

    files_done: int
    files_total: int
    checks_done: int
    checks_total: int
    hits: int


ProgressCallback = Callable[[Progress], None]


@dataclass(repr=False)
class Report:
    """Every result of one run, and the counts a summary needs.

    Its repr is the summary, not every result: asyncio formats the run's return value
    when it tears the loop down (in ``signal``'s error path), which for a full dataclass
    repr of thousands of findings cost a quarter of a warm run.
    """

    results: list[ValidationResult]
    files: int
    """Files at least one validator checked."""
    dimension_names: tuple[str, ...]
    wall_time_s: float
    root: Path
    cache_enabled: bool = True
    findings: int = field(init=False)
    hits: int = field(init=False)
    misses: int = field(init=False)
    errors: int = field(init=False)
    """Results whose validator could not do its job (crashed, timed out); skips excluded."""
    skipped: int = field(init=False)
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        results = self.results
        self.findings = sum(len(result.findings) for result in results)
        self.hits = sum(1 for result in results if result.cached)
        self.misses = (
            sum(1 for result in results if not result.cached and result.file_path is not None)
            if self.cache_enabled
            else 0
        )
        self.skipped = sum(1 for result in results if is_skipped(result))
        self.errors = sum(1 for result in results if result.error is not None and not is_skipped(result))
        self.passed = self.errors == 0 and all(result.passed for result in results)

    @property
    def dimensions(self) -> int:
        return len(self.dimension_names)

    def __repr__(self) -> str:
        return (
            f"Report(files={self.files}, dimensions={self.dimensions}, findings={self.findings}, "
            f"hits={self.hits}, misses={self.misses}, errors={self.errors}, passed={self.passed})"
        )

    def summary(self) -> dict[str, Any]:
        """The counts, under the field names the JSON report uses."""
        return {
            "files": self.files,
            "dimensions": self.dimensions,
            "dimension_names": list(self.dimension_names),
            "findings": self.findings,
            "cache_hits": self.hits,
            "cache_misses": self.misses,
            "errors": self.errors,
            "skipped": self.skipped,
            "passed": self.passed,
            "wall_time_s": self.wall_time_s,
            "root": str(self.root),
        }


def is_skipped(result: ValidationResult) -> bool:
    """Whether the check did not run (``ValidationResult.skipped``): shown as skipped, not failed."""
    return result.error is not None and result.error.startswith("skipped:")


def default_jobs() -> int:
    """``DEFAULT_JOBS``, else 256 per core.

    Generous because most validators batch: calls waiting together share one tool
    process, and each validator's share of ``jobs`` is the largest batch its tool is
    given. On the standard library (1,789 files, five validators) 512 rather than 128
    cut the cold run's CPU time by a sixth (fewer tool start-ups). A validator that
    starts a process per call should bound itself.
    """
    return DEFAULT_JOBS or 256 * (os.cpu_count() or 1)


# -- config -----------------------------------------------------------------------------------


def check_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` as a plain dict, or ``OrchestratorError`` saying what is wrong with it."""
    if not isinstance(config, Mapping):
        raise OrchestratorError(f"config must be a table/object, not {type(config).__name__}")
    checked = dict(config)
    for name in ("include", "exclude"):
        patterns = checked.get(name, [])
        if isinstance(patterns, str):
            patterns = [patterns]
        if not isinstance(patterns, (list, tuple)) or not all(isinstance(item, str) for item in patterns):
            raise OrchestratorError(f"config {name!r} must be a list of glob patterns")
        checked[name] = list(patterns)
    timeout = checked.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise OrchestratorError(f"config 'timeout' must be a positive number of seconds, not {timeout!r}")
    try:
        memo.canonical_config(checked)
    except (memo.ConfigHashError, TypeError, ValueError) as exc:
        raise OrchestratorError(f"config: {exc}") from None
    return checked


# -- discovery --------------------------------------------------------------------------------


def _is_regular_file(path: str) -> bool:
    """True for a regular file or a symlink to one; False for FIFOs, devices, dangling links, loops."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _pruned(name: str, path: str) -> bool:
    if name in SKIPPED_DIRS or name.endswith(".egg-info"):
        return True
    # A virtual environment under any name carries pyvenv.cfg.
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def walk_files(top: str) -> Iterator[str]:
    """Regular files under ``top``, skipping VCS, virtual environment, cache and build directories.

    Symlinks to directories are not followed (no loops); symlinks to files are listed
    when they resolve to a regular file. Unreadable directories are skipped.
    """
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as scan:
                entries = list(scan)
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not _pruned(entry.name, entry.path):
                        stack.append(entry.path)
                elif entry.is_file() and _is_regular_file(entry.path):
                    yield entry.path
            except OSError:
                continue


def git_files(root: str) -> list[str] | None:
    """Files git shows under ``root`` (tracked, plus untracked not ignored), or None outside git.

    One ``git ls-files`` call. Untracked files inside directories that ``walk_files``
    would skip (an un-ignored virtual environment, say) are left out.
    """
    try:
        completed = subprocess.run(  # nosec B603 B607 - fixed argv, no shell
            ["git", "ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if completed.returncode != 0:
        return None
    files: dict[str, None] = {}
    pruned_dirs: dict[str, bool] = {}
    for record in completed.stdout.split(b"\0"):
        if len(record) < 3:
            continue
        tag, name = record[:1], os.fsdecode(record[2:])
        path = os.path.join(root, name)
        if tag == b"?" and _inside_pruned_dir(root, name, pruned_dirs):
            continue
        files[path] = None
    return [path for path in files if _is_regular_file(path)]


def _inside_pruned_dir(root: str, name: str, memo_: dict[str, bool]) -> bool:
    parts = name.split("/")[:-1]
    current = root
    for part in parts:
        current = os.path.join(current, part)
        known = memo_.get(current)
        if known is None:
            known = memo_[current] = _pruned(part, current)
        if known:
            return True
    return False


def _spec(patterns: Sequence[str]) -> pathspec.GitIgnoreSpec | None:
    return pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None


def discover(
    root: Path,
    paths: Iterable[str | os.PathLike[str]] | None = None,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[Path]:
    """The files a run validates, sorted: git's view of the tree where there is one, else a walk.

    ``paths`` (files or directories, relative to ``root``) narrow the run; a file named
    explicitly is taken even if git ignores it, and so is a directory git ignores whole.
    ``include``/``exclude`` are gitignore-style globs matched against paths relative to
    ``root``. Raises ``OrchestratorError`` for a
    path that does not exist or is neither a regular file nor a directory.
    """
    top = os.path.abspath(root)
    if not os.path.isdir(top):
        raise OrchestratorError(f"{root}: not a directory")
    targets = [os.path.abspath(os.path.join(top, os.fspath(path))) for path in (paths or [top])]
    explicit: list[str] = []
    directories: list[str] = []
    for target in targets:
        if os.path.isdir(target):
            directories.append(target)
        elif _is_regular_file(target):
            explicit.append(target)
        elif os.path.lexists(target):
            raise OrchestratorError(f"{target}: not a regular file or directory")
        else:
            raise OrchestratorError(f"{target}: no such file or directory")
    found: dict[str, None] = dict.fromkeys(explicit)
    if directories:
        listed = git_files(top)
        if listed is None:
            for directory in directories:
                found.update(dict.fromkeys(walk_files(directory)))
        else:
            for directory in directories:
                prefix = directory.rstrip(os.sep) + os.sep
                inside = [path for path in listed if path.startswith(prefix)]
                # Nothing from git: the directory is ignored as a whole (a tree inside
                # another project's ignored build or install directory). It was named
                # explicitly, so it is walked instead.
                found.update(dict.fromkeys(inside or walk_files(directory)))
    include_spec, exclude_spec = _spec(include), _spec(exclude)
    selected = []
    for path in found:
        relative = os.path.relpath(path, top).replace(os.sep, "/")
        if include_spec is not None and not include_spec.match_file(relative):
            continue
        if exclude_spec is not None and exclude_spec.match_file(relative):
            continue
        selected.append(Path(path))
    selected.sort()
    return selected


# -- the orchestrator ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Check:
    """One validator on one file; a run plans one per pair, so slotted to stay small."""

    index: int
    validator: type[Validator]
    file_path: Path | None


@dataclass
class _Lane:
    """One validator's checks, made one at a time as workers take them.

    Planned as lists of paths rather than of checks: a warm run over a large tree holds
    little more than its results, not a check object per result as well.
    """

    validator: type[Validator]
    segments: list[tuple[int, Sequence[Path | None]]]
    """``(index of the first check, paths)``: more than one when a validator is listed twice."""

    def __len__(self) -> int:
        return sum(len(paths) for _, paths in self.segments)

    def __iter__(self) -> Iterator[_Check]:
        cls = self.validator
        for start, paths in self.segments:
            for index, path in enumerate(paths, start):
                yield _Check(index, cls, path)


class ValidationOrchestrator:
    """Runs validators over the files under ``root`` and reports; see the module docstring.

    ``cache``: the cache to use. Without one, a ``ValidationCache`` at ``cache_dir`` (or
    the default directory) is created, unless caching is off (``use_cache=False``,
    ``VALIDATION_CACHE_ENABLED=false``, or diskcache missing): then nothing touches disk.
    """

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
    ) -> None:
        self.root = Path.cwd() if root is None else Path(root)
        self.config = check_config(DEFAULT_CONFIG if config is None else config)
        self.validator_config = {key: value for key, value in self.config.items() if key not in RUN_KEYS}
        """What validators see, and so what the cache keys hash."""
        if validators is None:
            validators = resolve(DEFAULT_DIMENSIONS or REGISTRY_DEFAULT_DIMENSIONS)
        self.validators = list(validators)
        if jobs is None:
            jobs = default_jobs()
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise OrchestratorError(f"jobs must be a positive integer, not {jobs!r}")
        self.jobs = jobs
        self.timeout = float(self.config.get("timeout", DEFAULT_TIMEOUT))
        self.progress = progress
        self._owns_cache = False
        if cache is None and use_cache and memo.CACHE_AVAILABLE and memo.caching_enabled():
            cache = ValidationCache(cache_dir)
            self._owns_cache = True
        self.cache: ValidationCache | None = cache if use_cache else None
        if self.cache is not None:
            self.cache.set_config_hash(self.validator_config)

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
        lanes = self._plan(files)
        tracker = _Tracker(lanes, self.progress)
        results: list[ValidationResult | None] = [None] * tracker.checks_total
        with memo.bind_cache(self.cache, config=self.validator_config, root=self.root):
            await asyncio.gather(
                *(
                    self._worker(queue, results, tracker)
                    for queue, workers in self._queues(lanes, tracker.checks_total)
                    for _ in range(workers)
                )
            )
        done = [result for result in results if result is not None]
        return Report(
            results=done,
            files=tracker.files_total,
            dimension_names=tuple(dict.fromkeys(cls.dimension for cls in self.validators)),
            wall_time_s=time.perf_counter() - started,
            root=self.root,
            cache_enabled=self.cache is not None and memo.caching_enabled(),
        )

    def run_sync(self, paths: Iterable[str | os.PathLike[str]] | None = None) -> Report:
        """``run`` in a fresh event loop, for callers that are not async."""
        return asyncio.run(self.run(paths))

    def _plan(self, files: Sequence[Path]) -> list[_Lane]:
        """One lane per validator: project-level checks first (they are the slow ones), then per-file checks.

        A check's index (its place in the report) counts through them in that order.
        """
        lanes: dict[type[Validator], _Lane] = {}
        planned = 0
        for project_level in (True, False):
            for cls in self.validators:
                if cls.per_file == project_level:
                    continue
                paths: Sequence[Path | None] = [None] if project_level else [p for p in files if cls.applies_to(p)]
                lanes.setdefault(cls, _Lane(cls, [])).segments.append((planned, paths))
                planned += len(paths)
        return [lane for lane in lanes.values() if len(lane)]

    def _queues(self, lanes: Sequence[_Lane], total: int) -> list[tuple[Iterator[_Check], int]]:
        """One queue per validator, with its share of ``jobs`` workers.

        Validators run side by side, so while one waits on its tool another keeps the
        other core busy; and the checks of one validator that wait together are handed
        to it together, so a batching validator gets batches of its share's size.
        """
        if self.jobs < len(lanes):
            # Too few workers for a lane each: one queue, so never more than ``jobs`` at once.
            return [(itertools.chain.from_iterable(lanes), min(self.jobs, total))]
        share, extra = divmod(self.jobs, max(1, len(lanes)))
        return [(iter(lane), min(share + (number < extra), len(lane))) for number, lane in enumerate(lanes)]

    async def _worker(self, queue: Iterator[_Check], results: list[ValidationResult | None], tracker: _Tracker) -> None:
        for check in queue:
            result = await self._check(check)
            results[check.index] = result
            tracker.done(check, result)

    async def _check(self, check: _Check) -> ValidationResult:
        """One validator on one file; a crash, a hang or a wrong return value becomes an error result."""
        cls, file_path = check.validator, check.file_path
        started = time.perf_counter()
        try:
            validator = cls(file_path, self.validator_config, self.root)
            result = await _with_timeout(validator.validate(), self.timeout)
        except _TimedOut:
            return self._failed(cls, file_path, f"timed out after {self.timeout:g}s", started)
        except Exception as exc:
            return self._failed(cls, file_path, f"{type(exc).__name__}: {exc}", started)
        if not isinstance(result, ValidationResult):
            return self._failed(cls, file_path, f"validate() returned {type(result).__name__}", started)
        return result

    @staticmethod
    def _failed(cls: type[Validator], file_path: Path | None, error: str, started: float) -> ValidationResult:
        return ValidationResult(
            cls.dimension,
            passed=False,
            file_path=None if file_path is None else str(file_path),
            error=error,
            duration_s=time.perf_counter() - started,
        )

    # -- the cache --------------------------------------------------------------------------

    def clear_cache(self) -> int:
        """Remove every cached result; how many were removed (0 without a cache)."""
        return 0 if self.cache is None else self.cache.invalidate_all()

    def cache_stats(self) -> dict[str, Any]:
        """The cache's counters and size; ``{"available": False}`` without a cache."""
        return {"available": False} if self.cache is None else self.cache.stats()

    def close(self) -> None:
        """Close the cache if this orchestrator created it."""
        if self._owns_cache and self.cache is not None:
            self.cache.close()

    def __enter__(self) -> ValidationOrchestrator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _TimedOut(Exception):
    """Our deadline passed: told apart from a ``TimeoutError`` the validator itself raised."""


async def _with_timeout(awaitable: Awaitable[Any], seconds: float) -> Any:
    """``await awaitable`` under a deadline, set only once it has to wait.

    The coroutine's first step runs here, eagerly (as 3.12's eager tasks do). A check
    that finishes without suspending (a cache hit: the hit path is synchronous up to
    the result) has nothing a deadline could interrupt, and arming and cancelling one
    timer per check was about a sixth of a warm run. A check that suspends (real work)
    gets the full deadline from that point on.
    """
    if not isinstance(awaitable, Coroutine):
        return await _timed(awaitable, seconds)
    try:
        pending = awaitable.send(None)
    except StopIteration as finished:
        return finished.value
    return await _timed(_resume(awaitable, pending), seconds)


@types.coroutine
def _resume(coroutine: Coroutine[Any, Any, Any], pending: Any) -> Generator[Any, Any, Any]:
    """Carry on a coroutine whose first step already ran and yielded ``pending``.

    ``yield from`` by hand: what the running task sends or throws in goes to the
    coroutine, what it yields goes to the task, so it waits and is cancelled as if the
    task had run it from the start.
    """
    while True:
        try:
            sent = yield pending
        except GeneratorExit:
            coroutine.close()
            raise
        except BaseException as exc:  # every throw, CancelledError included, is the coroutine's
            try:
                pending = coroutine.throw(exc)
            except StopIteration as finished:
                return finished.value
        else:
            try:
                pending = coroutine.send(sent)
            except StopIteration as finished:
                return finished.value


if sys.version_info >= (3, 11):

    async def _timed(awaitable: Awaitable[Any], seconds: float) -> Any:
        scope = asyncio.timeout(seconds)
        try:
            async with scope:
                return await awaitable
        except TimeoutError:
            if scope.expired():
                raise _TimedOut from None
            raise

else:  # pragma: no cover - Python 3.10

    async def _timed(awaitable: Awaitable[Any], seconds: float) -> Any:
        async def run() -> Any:
            # wait_for wants a coroutine; awaiting in one keeps the resumed steps in one task.
            return await awaitable

        try:
            return await asyncio.wait_for(run(), seconds)
        except asyncio.TimeoutError:
            raise _TimedOut from None


class _Tracker:
    """Counts finished checks per file and reports progress."""

    def __init__(self, lanes: Sequence[_Lane], callback: ProgressCallback | None) -> None:
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

    def done(self, check: _Check, result: ValidationResult) -> None:
        self.checks_done += 1
        self.hits += result.cached
        if check.file_path is not None:
            left = self.remaining[check.file_path] - 1
            self.remaining[check.file_path] = left
            self.files_done += left == 0
        if self.callback is not None:
            self.callback(Progress(self.files_done, self.files_total, self.checks_done, self.checks_total, self.hits))


# -- the command line ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python orchestrator.py [PATHS...] [options]``: ``memo run`` with this file's defaults."""
    try:
        import memo_cli
    except ImportError:  # pragma: no cover - memo installed without its CLI module
        return _bare_main(sys.argv[1:] if argv is None else list(argv))
    return memo_cli.run_main(argv, orchestrator=sys.modules[__name__])


def _bare_main(argv: list[str]) -> int:  # pragma: no cover - see main
    """A minimal text report, for when ``memo_cli`` cannot be imported."""
    root = Path(argv[0]) if argv else Path.cwd()
    try:
        with ValidationOrchestrator(root) as orchestrator:
            report = orchestrator.run_sync()
    except (OrchestratorError, ValueError) as exc:
        print(f"orchestrator: error: {exc}", file=sys.stderr)
        return 2
    for result in report.results:
        for finding in result.findings:
            print(f"{finding.path}:{finding.line}:{finding.column} {finding.code} {finding.message}")
        if result.error is not None:
            print(f"{result.file_path or root}: {result.dimension}: {result.error}")
    print(f"{report.files} files, {report.findings} findings, {report.hits} cache hits, {report.misses} misses")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
