"""The engine reads a lane's cache entries a chunk at a time, in one query, and plans each check once."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import pytest

from memo import MemoryStore, ValidationCache, ValidationResult, cached_validation, hashing
from memo_engine import Engine
from memo_engine import engine as engine_module
from validators import SyntaxValidator, Validator


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


def test_each_check_is_planned_once_cold_and_warm(tmp_path: Path) -> None:
    _tree(tmp_path, 10)
    cache = ValidationCache(store=MemoryStore())
    with Engine(tmp_path, validators=[_Counted], cache=cache) as engine:
        cold = engine.run_sync()
        planned_cold, _Counted.contexts = _Counted.contexts, 0
        warm = engine.run_sync()

    assert (cold.misses, warm.hits) == (10, 10)
    assert planned_cold == 10 and _Counted.contexts == 10


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
