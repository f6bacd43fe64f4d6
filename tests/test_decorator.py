"""@cached_validation: what it keeps of the wrapped method, and when it stores and serves."""

from __future__ import annotations

import asyncio
import inspect
import sys
from pathlib import Path
from typing import ClassVar

import pytest

import memo.keys
from memo import CACHE_TTL, ValidationCache, ValidationResult, bind_cache, cached_validation, plan_call
from memo.validators import Validator
from tests.helpers import CountingValidator, counting_validator_class, write


def test_decorator_preserves_introspection() -> None:
    method = CountingValidator.validate
    assert method.__name__ == "validate"
    assert method.__qualname__ == "CountingValidator.validate"
    assert inspect.iscoroutinefunction(method)
    assert inspect.iscoroutinefunction(CountingValidator(None).validate)
    assert list(inspect.signature(method).parameters) == ["self"]

    class Documented(Validator):
        @cached_validation(dimension="d")
        async def validate(self) -> ValidationResult:
            """Checks documented things."""
            return ValidationResult("d", True)

    assert Documented.validate.__doc__ == "Checks documented things."


def test_decorator_rejects_non_coroutine_at_decoration_time() -> None:
    with pytest.raises(TypeError, match="async def"):

        class Sync(Validator):
            @cached_validation(dimension="d")
            def validate(self) -> ValidationResult:  # type: ignore[override]
                return ValidationResult("d", True)


@pytest.mark.parametrize("dimension", ["", 3])
def test_decorator_rejects_bad_dimension(dimension: object) -> None:
    with pytest.raises(TypeError, match="dimension"):
        cached_validation(dimension=dimension)  # type: ignore[arg-type]


def test_decorator_used_without_parentheses_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="parentheses"):

        class Bare(Validator):
            @cached_validation  # type: ignore[arg-type]
            async def validate(self) -> ValidationResult:
                return ValidationResult("d", True)


async def test_without_a_dimension_the_decorator_uses_the_classs_own(tmp_path: Path) -> None:
    class Stated(Validator):
        dimension: ClassVar[str] = "stated"
        calls: ClassVar[int] = 0

        @cached_validation()
        async def validate(self) -> ValidationResult:
            type(self).calls += 1
            return ValidationResult("stated", True)

    source = write(tmp_path / "a.py", "x = 1\n")
    first, second = await Stated(source).validate(), await Stated(source).validate()
    assert (first.cached, second.cached, Stated.calls) == (False, True, 1)
    plan = plan_call(Stated(source), "stated")
    assert plan is not None and ":stated:" in plan.key


async def test_without_a_dimension_anywhere_the_call_is_a_clear_error(tmp_path: Path) -> None:
    class Nameless(Validator):
        @cached_validation()
        async def validate(self) -> ValidationResult:
            return ValidationResult("x", True)

    with pytest.raises(TypeError, match="has no dimension"):
        await Nameless(write(tmp_path / "a.py", "")).validate()


async def test_second_call_is_served_without_running_the_body(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "# TODO\nx = 1\n")
    first = await validator(source).validate()
    second = await validator(source).validate()
    assert validator.calls == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.findings == first.findings
    assert second.file_path == first.file_path


async def test_subclass_inheriting_validate_is_cached_under_its_own_identity(tmp_path: Path) -> None:
    base = counting_validator_class()
    child = type("Child", (base,), {"calls": 0})
    source = write(tmp_path / "a.py", "x = 1\n")
    await base(source).validate()
    await child(source).validate()
    assert (await child(source).validate()).cached is True
    assert (base.calls, child.calls) == (1, 1)


async def test_version_bump_invalidates(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    await validator(source).validate()
    validator.version = "2"
    await validator(source).validate()
    await validator(source).validate()
    assert validator.calls == 2


async def test_a_changed_cache_context_misses_and_an_unchanged_one_hits(tmp_path: Path) -> None:
    context = {"value": "a"}
    validator = counting_validator_class(cache_context=lambda self: context["value"])
    source = write(tmp_path / "a.py", "x = 1\n")
    await validator(source).validate()
    assert (await validator(source).validate()).cached is True
    context["value"] = "b"
    assert (await validator(source).validate()).cached is False
    assert validator.calls == 2


async def test_exception_propagates_and_is_not_stored(tmp_path: Path) -> None:
    runs = []

    class Flaky(Validator):
        @cached_validation(dimension="flaky")
        async def validate(self) -> ValidationResult:
            runs.append(1)
            if len(runs) == 1:
                raise RuntimeError("tool exploded")
            return ValidationResult("flaky", True, file_path=self.file_path)

    source = write(tmp_path / "a.py", "x = 1\n")
    with pytest.raises(RuntimeError, match="tool exploded"):
        await Flaky(source).validate()
    assert (await Flaky(source).validate()).cached is False
    assert (await Flaky(source).validate()).cached is True
    assert len(runs) == 2


async def test_result_with_error_is_returned_but_not_stored(tmp_path: Path) -> None:
    runs = []

    class TimesOut(Validator):
        @cached_validation(dimension="slow")
        async def validate(self) -> ValidationResult:
            runs.append(1)
            return ValidationResult("slow", False, file_path=self.file_path, error="timed out after 1s")

    source = write(tmp_path / "a.py", "x = 1\n")
    results = [await TimesOut(source).validate() for _ in range(2)]
    assert [r.error for r in results] == ["timed out after 1s"] * 2
    assert len(runs) == 2


async def test_file_changed_during_validation_is_not_stored(tmp_path: Path) -> None:
    source = write(tmp_path / "a.py", "# TODO\n")

    class EditsWhileChecking(Validator):
        runs: ClassVar[int] = 0

        @cached_validation(dimension="race")
        async def validate(self) -> ValidationResult:
            type(self).runs += 1
            result = ValidationResult("race", False, file_path=self.file_path)
            if type(self).runs == 1:
                write(source, "# done\n")  # the user saves while we validate
            return result

    first = await EditsWhileChecking(source).validate()
    assert first.passed is False
    await EditsWhileChecking(source).validate()
    assert EditsWhileChecking.runs == 2


async def test_fileless_validator_runs_uncached(tmp_path: Path) -> None:
    validator = counting_validator_class()
    runs = []

    class Project(Validator):
        per_file = False

        @cached_validation(dimension="project")
        async def validate(self) -> ValidationResult:
            runs.append(1)
            return ValidationResult("project", True)

    for _ in range(3):
        assert (await Project(None, root=tmp_path).validate()).cached is False
    assert len(runs) == 3
    assert validator.calls == 0


async def test_missing_file_runs_uncached_and_the_validator_reports_it(tmp_path: Path) -> None:
    class Reports(Validator):
        @cached_validation(dimension="exists")
        async def validate(self) -> ValidationResult:
            assert self.file_path is not None
            ok = self.file_path.exists()
            return ValidationResult("exists", ok, file_path=self.file_path, error=None if ok else "file vanished")

    result = await Reports(tmp_path / "gone.py").validate()
    assert result.error == "file vanished"


async def test_arguments_to_validate_bypass_the_cache(tmp_path: Path) -> None:
    runs = []

    class TakesArgs(Validator):
        @cached_validation(dimension="args")
        async def validate(self, strict: bool = False) -> ValidationResult:  # type: ignore[override]
            runs.append(strict)
            return ValidationResult("args", not strict, file_path=self.file_path)

    source = write(tmp_path / "a.py", "x = 1\n")
    await TakesArgs(source).validate(True)
    await TakesArgs(source).validate(strict=True)
    assert runs == [True, True]


async def test_called_through_the_class_uses_the_instance(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    await validator.validate(validator(source))
    assert (await validator.validate(validator(source))).cached is True


async def test_disabled_env_means_no_read_no_write_nothing_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    for word in ("false", "0", "No", "OFF"):
        monkeypatch.setenv("VALIDATION_CACHE_ENABLED", word)
        assert plan_call(validator(source), "todos") is None
        assert (await validator(source).validate()).cached is False
    assert validator.calls == 4
    assert not (tmp_path / "default-cache").exists()
    monkeypatch.setenv("VALIDATION_CACHE_ENABLED", "true")
    await validator(source).validate()
    assert (await validator(source).validate()).cached is True


async def test_outside_any_run_the_default_cache_is_used(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    await validator(source).validate()
    assert (tmp_path / "default-cache" / "cache.db").exists()
    assert (await validator(source).validate()).cached is True


async def test_outside_any_run_the_validators_own_config_is_in_the_key(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    await validator(source, config={"strict": True}).validate()
    await validator(source, config={"strict": False}).validate()
    await validator(source, config={"strict": True}).validate()
    assert validator.calls == 2


async def test_two_runs_with_different_configs_never_share_results(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache:

        async def run(config: dict[str, int]) -> ValidationResult:
            with bind_cache(cache, config=config):
                return await validator(source, config=config).validate()

        first = await asyncio.gather(run({"level": 1}), run({"level": 2}))
        second = await asyncio.gather(run({"level": 1}), run({"level": 2}))
    assert validator.calls == 2
    assert [r.cached for r in first] == [False, False]
    assert [r.cached for r in second] == [True, True]


async def test_binding_without_cache_turns_caching_off(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    with bind_cache(None):
        await validator(source).validate()
        await validator(source).validate()
    assert validator.calls == 2
    assert not (tmp_path / "default-cache").exists()


async def test_two_checkouts_share_entries_through_relative_paths(tmp_path: Path) -> None:
    validator = counting_validator_class()
    one = write(tmp_path / "one" / "pkg" / "a.py", "# TODO\n")
    two = write(tmp_path / "two" / "pkg" / "a.py", "# TODO\n")
    with ValidationCache(tmp_path / "cache") as cache:
        with bind_cache(cache, config={}, root=tmp_path / "one"):
            await validator(one).validate()
        with bind_cache(cache, config={}, root=tmp_path / "two"):
            served = await validator(two).validate()
    assert validator.calls == 1
    assert served.cached is True
    assert served.file_path == str(two)
    assert served.findings[0].path == str(two)


def test_each_event_loop_gets_its_own_flights(tmp_path: Path) -> None:
    validator = counting_validator_class()
    sources = [write(tmp_path / f"m{i}.py", "x = 1\n") for i in range(3)]
    with ValidationCache(tmp_path / "cache") as cache:

        async def run() -> list[ValidationResult]:
            with bind_cache(cache, config={}):
                return list(await asyncio.gather(*(validator(s).validate() for s in sources)))

        assert [r.cached for r in asyncio.run(run())] == [False] * 3
        assert [r.cached for r in asyncio.run(run())] == [True] * 3
    assert validator.calls == 3


async def test_a_decorated_override_calling_a_decorated_super_runs_both_bodies_once(tmp_path: Path) -> None:
    base = counting_validator_class()
    runs: list[str] = []

    class Override(base):  # type: ignore[valid-type,misc]
        @cached_validation(dimension="todos")
        async def validate(self) -> ValidationResult:
            runs.append("override")
            return await super().validate()

    source = write(tmp_path / "a.py", "# TODO\n")
    first = await asyncio.wait_for(Override(source).validate(), 30)  # before the fix: waits on itself forever
    second = await Override(source).validate()
    assert (runs, Override.calls) == (["override"], 1)  # the base body counts on type(self)
    assert (first.cached, second.cached) == (False, True)
    assert second.findings == first.findings


async def test_a_waiter_from_another_checkout_gets_a_result_about_its_own_file(tmp_path: Path) -> None:
    gate = asyncio.Event()
    validator = counting_validator_class(gate=gate)
    one = write(tmp_path / "one" / "pkg" / "a.py", "# TODO\n")
    two = write(tmp_path / "two" / "pkg" / "a.py", "# TODO\n")
    with ValidationCache(tmp_path / "cache") as cache:

        async def check(root: Path, source: Path) -> ValidationResult:
            with bind_cache(cache, root=root):
                return await validator(source).validate()

        leader = asyncio.create_task(check(tmp_path / "one", one))
        waiter = asyncio.create_task(check(tmp_path / "two", two))
        for _ in range(5):
            await asyncio.sleep(0)
        gate.set()
        led, waited = await leader, await waiter
    assert validator.calls == 1, "one flight for one relative path and content"
    assert (led.file_path, [f.path for f in led.findings]) == (str(one), [str(one)])
    assert (waited.file_path, [f.path for f in waited.findings]) == (str(two), [str(two)])


async def test_a_result_without_a_file_path_names_the_bound_file_cold_warm_and_uncached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Pathless(Validator):
        @cached_validation(dimension="pathless")
        async def validate(self) -> ValidationResult:
            return ValidationResult("pathless", True, duration_s=0.5)

    source = write(tmp_path / "a.py", "x = 1\n")
    cold = await Pathless(source).validate()
    warm = await Pathless(source).validate()
    monkeypatch.setenv("VALIDATION_CACHE_ENABLED", "0")
    uncached = await Pathless(source).validate()
    assert (cold.cached, warm.cached, uncached.cached) == (False, True, False)
    assert cold.to_dict() == uncached.to_dict() == {**warm.to_dict(), "cached": False}
    assert cold.file_path == str(source)


async def test_the_caches_ttl_is_the_default_of_decorated_calls(tmp_path: Path) -> None:
    now = [1_000_000.0]
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache", ttl=60, clock=lambda: now[0]) as cache, bind_cache(cache):
        await validator(source).validate()
        now[0] += 59
        assert (await validator(source).validate()).cached is True
        now[0] += 1
        assert (await validator(source).validate()).cached is False
    assert validator.calls == 2


async def test_the_decorators_own_ttl_wins_over_the_caches(tmp_path: Path) -> None:
    now = [1_000_000.0]
    runs = []

    class Short(Validator):
        @cached_validation(dimension="short", ttl=10)
        async def validate(self) -> ValidationResult:
            runs.append(1)
            return ValidationResult("short", True, file_path=self.file_path)

    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache", ttl=None, clock=lambda: now[0]) as cache, bind_cache(cache):
        await Short(source).validate()
        now[0] += 10
        await Short(source).validate()
    assert len(runs) == 2


@pytest.mark.parametrize("where", ["cache", "decorator"])
async def test_ttl_zero_stores_nothing(tmp_path: Path, where: str) -> None:
    runs = []

    class Never(Validator):
        @cached_validation(dimension="never", ttl=0 if where == "decorator" else CACHE_TTL)
        async def validate(self) -> ValidationResult:
            runs.append(1)
            return ValidationResult("never", True, file_path=self.file_path)

    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache", ttl=0 if where == "cache" else None) as cache, bind_cache(cache):
        results = [await Never(source).validate() for _ in range(3)]
        assert cache.stats()["entries"] == 0
    assert len(runs) == 3
    assert [r.cached for r in results] == [False] * 3


@pytest.mark.parametrize("ttl", [-1, 1.5, True, "60"])
def test_a_bad_ttl_is_rejected_when_decorating(ttl: object) -> None:
    with pytest.raises(ValueError, match="ttl"):
        cached_validation(dimension="d", ttl=ttl)  # type: ignore[arg-type]


async def test_in_a_run_two_instances_with_different_configs_never_share_a_result(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, config={"run": 1}):
        strict = await validator(source, config={"strict": True}).validate()
        lax = await validator(source, config={"strict": False}).validate()
        again = await validator(source, config={"strict": True}).validate()
    assert validator.calls == 2
    assert (strict.cached, lax.cached, again.cached) == (False, False, True)


async def test_cache_config_keeps_hits_when_only_other_validators_options_change(tmp_path: Path) -> None:
    validator = counting_validator_class(cache_config=lambda self: self.options())
    source = write(tmp_path / "a.py", "x = 1\n")
    configs = [
        {"todos": {"words": ["TODO"]}, "complexity": {"max": 10}},
        {"todos": {"words": ["TODO"]}, "complexity": {"max": 12}},  # another dimension's options
        {"todos": {"words": ["FIXME"]}, "complexity": {"max": 12}},  # its own
    ]
    results = []
    with ValidationCache(tmp_path / "cache") as cache:
        for config in configs:
            with bind_cache(cache, config=config):
                results.append(await validator(source, config=config).validate())
    assert [r.cached for r in results] == [False, True, False]
    assert validator.calls == 2


async def test_a_run_hashes_a_config_once_however_many_instances_copy_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    validator = counting_validator_class()
    sources = [write(tmp_path / f"m{i}.py", "x = 1\n") for i in range(5)]
    config = {"todos": {"words": ["TODO"]}, "other": [1, 2]}
    hashed: list[object] = []
    real = memo.keys.config_digest
    monkeypatch.setattr(memo.keys, "config_digest", lambda value: hashed.append(value) or real(value))
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, config=config):
        for _ in range(2):
            for source in sources:
                await validator(source, config=config).validate()  # each instance copies config
        assert len(hashed) == 1
        config["todos"] = {"words": ["FIXME"]}  # a new value object: noticed
        assert (await validator(sources[0], config=config).validate()).cached is False
    assert len(hashed) == 2


def test_the_decorators_wrapper_stays_simple_enough_to_read() -> None:
    """The hit path lives in ``wrapper``: radon's cyclomatic complexity of it (closures included) is at most 15."""
    from pathlib import Path

    from radon.complexity import cc_visit

    import memo.decorator

    source = Path(memo.decorator.__file__).read_text(encoding="utf-8")
    found = {}
    pending = list(cc_visit(source))
    while pending:
        block = pending.pop()
        found[block.name] = block.complexity
        pending.extend(getattr(block, "closures", []))
        pending.extend(getattr(block, "methods", []))
    assert "wrapper" in found
    assert found["wrapper"] <= 15


def _load_class(path: Path, monkeypatch: pytest.MonkeyPatch) -> type:
    import importlib.util

    spec = importlib.util.spec_from_file_location("memo_code_probe", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "memo_code_probe", module)
    spec.loader.exec_module(module)
    cls = module.Probe
    assert isinstance(cls, type)
    return cls


def test_a_validators_identity_changes_with_its_code_and_only_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memo import validator_identity

    source = write(tmp_path / "probe.py", "class Probe:\n    version = '1'\n    code = 'TD001'\n")
    first = validator_identity(_load_class(source, monkeypatch)())
    again = validator_identity(_load_class(source, monkeypatch)())
    source.write_text("class Probe:\n    version = '1'\n    code = 'TD002'\n")
    edited = validator_identity(_load_class(source, monkeypatch)())
    assert first == again != edited
