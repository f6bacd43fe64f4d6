"""ValidationOrchestrator: cache hits across runs, caching off, clearing, project-level checks, failures."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

import pytest

import memo
from memo import Finding, ValidationCache, ValidationResult, cached_validation
from memo.validators import Validator
from orchestrator import OrchestratorError, Progress, ValidationOrchestrator
from tests.helpers import CountingValidator, counting_validator_class, write


def make_tree(root: Path, count: int = 3) -> list[Path]:
    files = [write(root / f"pkg/mod{i}.py", f"x = {i}\n") for i in range(count)]
    files.append(write(root / "pkg/todo.py", "# TODO: finish\n"))
    write(root / "README.txt", "not python\n")
    return files


class ProjectCounter(Validator):
    """A project-level check (no file): counts its runs and the tree's Python files."""

    dimension: ClassVar[str] = "project"
    per_file: ClassVar[bool] = False
    calls: ClassVar[int] = 0

    @cached_validation(dimension="project")
    async def validate(self) -> ValidationResult:
        type(self).calls += 1
        assert self.file_path is None and self.root is not None
        found = sorted(self.root.rglob("*.py"))
        return ValidationResult("project", passed=bool(found), file_path=None)


class Hangs(Validator):
    """Waits on an event nobody sets: only the orchestrator's timeout ends it."""

    dimension: ClassVar[str] = "hangs"

    @cached_validation(dimension="hangs")
    async def validate(self) -> ValidationResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class Crashes(Validator):
    dimension: ClassVar[str] = "crashes"

    @cached_validation(dimension="crashes")
    async def validate(self) -> ValidationResult:
        raise RuntimeError("tool exploded")


class RaisesOwnTimeout(Validator):
    """A validator whose own ``TimeoutError`` is a crash, not the orchestrator's deadline."""

    dimension: ClassVar[str] = "owntimeout"

    @cached_validation(dimension="owntimeout")
    async def validate(self) -> ValidationResult:
        raise TimeoutError("socket read timed out")


class EchoesConfig(Validator):
    """One finding carrying its config section's ``marker``: proves which config a result came from."""

    dimension: ClassVar[str] = "echo"
    calls: ClassVar[int] = 0

    @cached_validation(dimension="echo")
    async def validate(self) -> ValidationResult:
        type(self).calls += 1
        marker = str(self.options().get("marker"))
        finding = Finding(str(self.file_path), 1, 1, "ECHO", marker, "info")
        return ValidationResult("echo", passed=True, findings=[finding], file_path=self.file_path)


@pytest.fixture
def cache(tmp_path: Path) -> Any:
    with ValidationCache(tmp_path / "cache") as opened:
        yield opened


async def test_orchestrator_cache_hit(tmp_path: Path, cache: ValidationCache) -> None:
    files = make_tree(tmp_path / "tree")
    counting = counting_validator_class()
    orchestrator = ValidationOrchestrator(tmp_path / "tree", {}, [counting], cache)

    first = await orchestrator.run()
    assert counting.calls == len(files)
    assert (first.hits, first.misses, first.files) == (0, len(files), len(files))
    assert not first.passed and first.findings == 1  # the TODO

    second = await orchestrator.run()
    assert counting.calls == len(files), "a warm run must not run any validator body"
    assert all(result.cached for result in second.results)
    assert (second.hits, second.misses) == (len(files), 0)
    assert [r.findings for r in second.results] == [r.findings for r in first.results]


async def test_orchestrator_cache_disabled_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = tmp_path / "default-cache"  # conftest points VALIDATION_CACHE_DIR here
    monkeypatch.setenv("VALIDATION_CACHE_ENABLED", "false")
    files = make_tree(tmp_path / "tree")
    counting = counting_validator_class()
    orchestrator = ValidationOrchestrator(tmp_path / "tree", {}, [counting])
    assert orchestrator.cache is None
    assert orchestrator.cache_stats() == {"available": False}

    for _ in range(2):
        report = await orchestrator.run()
        assert not any(result.cached for result in report.results)
        assert (report.hits, report.misses) == (0, 0)
    assert counting.calls == 2 * len(files)
    assert not cache_dir.exists(), "caching off must create nothing on disk"
    assert orchestrator.clear_cache() == 0


async def test_orchestrator_clear_cache(tmp_path: Path, cache: ValidationCache) -> None:
    files = make_tree(tmp_path / "tree")
    counting = counting_validator_class()
    orchestrator = ValidationOrchestrator(tmp_path / "tree", {}, [counting], cache)
    await orchestrator.run()
    assert orchestrator.cache_stats()["entries"] == len(files)

    assert orchestrator.clear_cache() == len(files)
    assert orchestrator.cache_stats()["entries"] == 0
    report = await orchestrator.run()
    assert report.hits == 0 and counting.calls == 2 * len(files)


async def test_orchestrator_no_cache_for_fileless_validators(tmp_path: Path, cache: ValidationCache) -> None:
    files = make_tree(tmp_path / "tree")
    project = type("Project", (ProjectCounter,), {"calls": 0})
    counting = counting_validator_class()
    orchestrator = ValidationOrchestrator(tmp_path / "tree", {}, [project, counting], cache)

    for run in (1, 2):
        report = await orchestrator.run()
        (project_result,) = [r for r in report.results if r.dimension == "project"]
        assert project_result.file_path is None and project_result.passed
        assert not project_result.cached
        assert project.calls == run, "a project-level validator runs on every run"
    assert counting.calls == len(files)
    assert cache.stats()["entries"] == len(files), "only per-file results are stored"


async def test_two_orchestrators_with_different_configs_share_no_results(
    tmp_path: Path, cache: ValidationCache
) -> None:
    files = make_tree(tmp_path / "tree")
    echo = type("Echo", (EchoesConfig,), {"calls": 0})
    one = ValidationOrchestrator(tmp_path / "tree", {"echo": {"marker": "one"}}, [echo], cache)
    two = ValidationOrchestrator(tmp_path / "tree", {"echo": {"marker": "two"}}, [echo], cache)

    first, second = await asyncio.gather(one.run(), two.run())
    assert {f.message for r in first.results for f in r.findings} == {"one"}
    assert {f.message for r in second.results for f in r.findings} == {"two"}
    assert echo.calls == 2 * len(files)

    again = await two.run()
    assert all(r.cached for r in again.results)
    assert {f.message for r in again.results for f in r.findings} == {"two"}
    assert echo.calls == 2 * len(files)


async def test_orchestrator_only_keys_do_not_change_cache_keys(tmp_path: Path, cache: ValidationCache) -> None:
    files = make_tree(tmp_path / "tree")
    counting = counting_validator_class()
    await ValidationOrchestrator(tmp_path / "tree", {"timeout": 60}, [counting], cache).run()
    report = await ValidationOrchestrator(
        tmp_path / "tree", {"timeout": 30, "exclude": ["*.txt"]}, [counting], cache
    ).run()
    assert report.hits == len(files) and counting.calls == len(files)


async def test_hanging_validator_times_out_without_hanging_the_run(tmp_path: Path, cache: ValidationCache) -> None:
    make_tree(tmp_path / "tree", count=1)
    counting = counting_validator_class()
    orchestrator = ValidationOrchestrator(tmp_path / "tree", {"timeout": 0.05}, [Hangs, counting], cache)
    report = await orchestrator.run()
    hung = [r for r in report.results if r.dimension == "hangs"]
    assert hung and all(r.error == "timed out after 0.05s" and not r.passed for r in hung)
    assert all(r.error is None for r in report.results if r.dimension == "todos")
    assert report.errors == len(hung) and not report.passed
    assert cache.stats()["entries"] == 2, "only the finished checks are stored"


async def test_validator_exceptions_become_error_results(tmp_path: Path, cache: ValidationCache) -> None:
    files = make_tree(tmp_path / "tree", count=1)
    report = await ValidationOrchestrator(tmp_path / "tree", {}, [Crashes, RaisesOwnTimeout], cache).run()
    errors = {(r.dimension, r.error) for r in report.results}
    assert errors == {("crashes", "RuntimeError: tool exploded"), ("owntimeout", "TimeoutError: socket read timed out")}
    assert report.errors == 2 * len(files) and not report.passed
    assert cache.stats()["entries"] == 0


async def test_skipped_checks_are_not_errors_but_fail_the_run(tmp_path: Path, cache: ValidationCache) -> None:
    class Skips(Validator):
        dimension: ClassVar[str] = "skips"

        @cached_validation(dimension="skips")
        async def validate(self) -> ValidationResult:
            return ValidationResult.skipped("skips", self.file_path, "tool is not installed")

    make_tree(tmp_path / "tree", count=1)
    report = await ValidationOrchestrator(tmp_path / "tree", {}, [Skips], cache).run()
    assert report.skipped == 2 and report.errors == 0 and not report.passed
    assert {result.status for result in report.results} == {memo.Status.SKIPPED}


async def test_progress_reports_every_check_and_file(tmp_path: Path, cache: ValidationCache) -> None:
    files = make_tree(tmp_path / "tree")
    seen: list[Progress] = []
    counting = counting_validator_class()
    orchestrator = ValidationOrchestrator(
        tmp_path / "tree", {}, [counting, ProjectCounter], cache, progress=seen.append
    )
    await orchestrator.run()
    await orchestrator.run()
    last = seen[-1]
    assert len(seen) == 2 * (len(files) + 1)
    assert (last.files_done, last.files_total, last.checks_done, last.checks_total) == (4, 4, 5, 5)
    assert last.hits == len(files)


@pytest.mark.parametrize(("jobs", "validators"), [(3, 1), (3, 2), (1, 3)])
async def test_checks_in_flight_never_exceed_their_bound(
    tmp_path: Path, jobs: int, validators: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memo.engine import schedule

    monkeypatch.setattr(schedule, "CHECKS_PER_CORE", 1)  # checks in flight == jobs
    gate, all_busy = asyncio.Event(), asyncio.Event()
    running = peak = 0

    class Gated(Validator):
        dimension: ClassVar[str] = "gated"

        async def validate(self) -> ValidationResult:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            if running == jobs:
                all_busy.set()
            await gate.wait()
            running -= 1
            return ValidationResult(self.dimension, passed=True, file_path=self.file_path)

    lanes = [type(f"Gated{i}", (Gated,), {"dimension": f"gated{i}"}) for i in range(validators)]
    make_tree(tmp_path / "tree", count=9)
    orchestrator = ValidationOrchestrator(tmp_path / "tree", {}, lanes, jobs=jobs, use_cache=False)
    run = asyncio.create_task(orchestrator.run())
    await all_busy.wait()
    for _ in range(10):  # give any worker beyond the limit every chance to start
        await asyncio.sleep(0)
    assert peak == jobs
    gate.set()
    report = await run
    assert peak == jobs and len(report.results) == 10 * validators


def test_no_argument_orchestrator_uses_registry_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from memo.validators import DEFAULT_DIMENSIONS

    monkeypatch.chdir(tmp_path)
    orchestrator = ValidationOrchestrator()
    assert orchestrator.root == tmp_path
    assert sorted(cls.dimension for cls in orchestrator.validators) == sorted(DEFAULT_DIMENSIONS)
    assert orchestrator.cache is not None
    orchestrator.close()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": "soon"}, "timeout"),
        ({"include": ["*.py"], "exclude": [3]}, "exclude"),
        ({"exclude": "app.py"}, r"'exclude' must be a list of glob patterns.*write exclude = \[\"app.py\"\]"),
        ({"lint": {"x": float("nan")}}, "nan"),
    ],
)
def test_bad_config_is_rejected_with_a_clear_message(config: dict[str, Any], message: str) -> None:
    with pytest.raises(OrchestratorError, match=message):
        ValidationOrchestrator(config=config, validators=[CountingValidator], use_cache=False)


def test_bad_jobs_is_rejected() -> None:
    with pytest.raises(OrchestratorError, match="jobs"):
        ValidationOrchestrator(validators=[CountingValidator], jobs=0, use_cache=False)


async def test_report_repr_is_its_summary_not_every_result(tmp_path: Path, cache: ValidationCache) -> None:
    make_tree(tmp_path / "tree", count=50)
    report = await ValidationOrchestrator(tmp_path / "tree", {}, [counting_validator_class()], cache).run()
    assert repr(report) == "Report(files=51, dimensions=1, findings=1, hits=0, misses=51, errors=0, passed=False)"
