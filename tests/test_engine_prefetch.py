"""The engine reads a lane's cache entries a chunk at a time, in one query, and plans each check once."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import pytest

import memo
import memo.decorator as decorator
from memo import MemoryStore, ValidationCache, ValidationResult, bind_cache, cached_validation, hashing
from memo.engine import Engine
from memo.engine import engine as engine_module
from memo.validators import SyntaxValidator, Validator


class _CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0
        self.batches: list[int] = []

    def get(self, key: str) -> bytes | None:
        self.gets += 1
        return super().get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = list(keys)
        self.batches.append(len(wanted))
        gets = self.gets
        found = super().get_many(wanted)  # MemoryStore's own get_many reads with get
        self.gets = gets
        return found


def _tree(root: Path, count: int) -> None:
    for number in range(count):
        (root / f"m{number:03d}.py").write_text(f"X = {number}\n")


@pytest.fixture(autouse=True)
def _settled_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files just written count as settled: a file changed within the racy window is read
    again on every call (git's "racily clean" rule), so its prefetched plan is never reused."""
    monkeypatch.setattr(hashing, "RACY_WINDOW_NS", 0)


def test_a_warm_run_reads_its_entries_a_chunk_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "PREFETCH_CHUNK", 16)
    _tree(tmp_path, 40)
    store = _CountingStore()
    cache = ValidationCache(store=store)
    with Engine(tmp_path, validators=[SyntaxValidator], cache=cache) as engine:
        engine.run_sync()
        store.gets, store.batches = 0, []
        report = engine.run_sync()

    assert report.hits == 40 and report.passed
    assert store.batches == [16, 16, 8]
    assert store.gets == 0  # every lookup was served by its chunk's query


class _Counted(Validator):
    dimension: ClassVar[str] = "counted"
    contexts: ClassVar[int] = 0

    def cache_context(self) -> str:
        type(self).contexts += 1
        return "same"

    @cached_validation()
    async def validate(self) -> ValidationResult:
        return ValidationResult(self.dimension, True)


def test_each_check_is_planned_once_cold_and_warm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, 10)
    plans: list[object] = []
    original = decorator.plan_or_reason

    def counted(*args: object) -> object:
        plans.append(args)
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(decorator, "plan_or_reason", counted)
    cache = ValidationCache(store=MemoryStore())
    with Engine(tmp_path, validators=[_Counted], cache=cache) as engine:
        cold = engine.run_sync()
        planned_cold, contexts_cold = len(plans), _Counted.contexts
        plans.clear()
        _Counted.contexts = 0
        warm = engine.run_sync()

    assert (cold.misses, warm.hits) == (10, 10)
    assert planned_cold == 10 and len(plans) == 10
    # The context is looked at when the chunk is planned and again at the lookup itself.
    assert contexts_cold == 20 and _Counted.contexts == 20


class _Broken(Validator):
    dimension: ClassVar[str] = "broken"

    def cache_context(self) -> str:
        if self.file_path is not None and self.file_path.name == "m001.py":
            raise RuntimeError("no context for this one")
        return ""

    @cached_validation()
    async def validate(self) -> ValidationResult:
        return ValidationResult(self.dimension, True)


def test_a_check_that_cannot_be_planned_is_its_own_error_and_the_others_run(tmp_path: Path) -> None:
    _tree(tmp_path, 3)
    with Engine(tmp_path, validators=[_Broken], cache=ValidationCache(store=MemoryStore())) as engine:
        report = engine.run_sync()

    errors = {Path(r.file_path or "").name: r.error for r in report.results if r.error is not None}
    assert errors == {"m001.py": "RuntimeError: no context for this one"}
    assert report.errors == 1 and len(report.results) == 3


class _Setting(Validator):
    """Passes or fails by the word in ``setting.txt`` beside the tree: its context."""

    dimension: ClassVar[str] = "setting"

    def cache_context(self) -> str:
        assert self.root is not None
        return (self.root / "setting.txt").read_text()

    @cached_validation()
    async def validate(self) -> ValidationResult:
        return ValidationResult(self.dimension, self.cache_context() == "lax")


async def test_a_context_changed_after_its_chunk_was_planned_is_not_served_the_old_entry(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    setting = tmp_path / "setting.txt"
    with bind_cache(ValidationCache(store=MemoryStore()), root=tmp_path):
        for word in ("strict", "lax"):  # both states cached
            setting.write_text(word)
            await _Setting(tmp_path / "a.py", {}, tmp_path).validate()
        validator = _Setting(tmp_path / "a.py", {}, tmp_path)
        assert memo.prefetch([validator]) == 1  # planned under "lax"
        setting.write_text("strict")
        result = await validator.validate()

    assert (result.passed, result.cached) == (False, True)  # the "strict" entry, not the "lax" one


class _Plain(Validator):
    """Not decorated: nothing looks its result up."""

    dimension: ClassVar[str] = "plain"

    async def validate(self) -> ValidationResult:
        return ValidationResult(self.dimension, True, duration_s=None)  # type: ignore[arg-type]


def test_undecorated_validators_are_not_planned_and_nothing_prefetched_outlives_the_run(tmp_path: Path) -> None:
    _tree(tmp_path, 5)
    cache = ValidationCache(store=MemoryStore())
    with Engine(tmp_path, validators=[_Plain, SyntaxValidator], cache=cache) as engine:
        report = engine.run_sync()
        with bind_cache(cache, root=tmp_path) as binding:
            assert memo.prefetch([_Plain(tmp_path / "m000.py", {}, tmp_path)]) == 0
            assert not binding.prepared

    assert report.passed and len(report.results) == 10
    assert all(r.duration_s is None for r in report.results if r.dimension == "plain")  # kept as given
    assert not cache._prefetched
