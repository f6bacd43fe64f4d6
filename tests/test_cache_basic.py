"""The seven behaviours of the original plan, on ValidationCache directly and through the decorator."""

from __future__ import annotations

import asyncio
import builtins
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from memo import Finding, MemoryStore, ValidationCache, ValidationResult, bind_cache, caching_enabled
from memo.codec import encode_entry
from tests.helpers import counting_validator_class, write


def _result(path: Path, passed: bool = False) -> ValidationResult:
    findings = [] if passed else [Finding(str(path), 3, 5, "X001", "bad thing", "error")]
    return ValidationResult("lint", passed=passed, findings=findings, file_path=str(path))


def test_cache_basic_set_get(tmp_path: Path) -> None:
    source = write(tmp_path / "proj" / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache:
        assert cache.get(source, "lint") is None
        cache.set(source, "lint", _result(source))
        got = cache.get(source, "lint")
    assert got is not None
    assert got.cached is True
    assert got.findings == _result(source).findings
    assert (got.dimension, got.passed, got.file_path) == ("lint", False, str(source))


def test_cache_get_is_per_dimension_and_validator(tmp_path: Path) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache:
        cache.set(source, "lint", _result(source), validator="v1")
        assert cache.get(source, "security", validator="v1") is None
        assert cache.get(source, "lint", validator="v2") is None
        assert cache.get(source, "lint", validator="v1") is not None


def test_cache_miss_on_file_change(tmp_path: Path) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache:
        cache.set(source, "lint", _result(source))
        write(source, "x = 2\n")  # same size, same mtime tick: only the content differs
        assert cache.get(source, "lint") is None
        write(source, "x = 1\n")
        assert cache.get(source, "lint") is not None


async def test_decorator_misses_on_file_change_of_same_size(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "# TODO a\n")
    first = await validator(source).validate()
    write(source, "# done a\n")
    second = await validator(source).validate()
    assert validator.calls == 2
    assert (first.passed, second.passed) == (False, True)
    assert second.cached is False


def test_cache_miss_on_config_change(tmp_path: Path) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache:
        cache.set_config_hash({"lint": {"select": ["E"]}})
        cache.set(source, "lint", _result(source))
        cache.set_config_hash({"lint": {"select": ["E", "F"]}})
        assert cache.get(source, "lint") is None
        cache.set_config_hash({"lint": {"select": ["E"]}})
        assert cache.get(source, "lint") is not None


async def test_decorator_misses_on_config_change(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache:
        for config in ({"a": 1}, {"a": 2}, {"a": 1}):
            with bind_cache(cache, config=config):
                await validator(source, config=config).validate()
    assert validator.calls == 2


def test_cache_ttl_expiry(tmp_path: Path) -> None:
    now = [1_000_000.0]
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache", ttl=60, clock=lambda: now[0]) as cache:
        cache.set(source, "lint", _result(source))
        now[0] += 59
        assert cache.get(source, "lint") is not None
        now[0] += 1
        assert cache.get(source, "lint") is None
        cache.set(source, "lint", _result(source), ttl=10)
        now[0] += 9
        assert cache.get(source, "lint") is not None
        now[0] += 1
        assert cache.get(source, "lint") is None


def test_cache_invalidate_all(tmp_path: Path) -> None:
    sources = [write(tmp_path / f"m{i}.py", f"x = {i}\n") for i in range(5)]
    with ValidationCache(tmp_path / "cache") as cache:
        for source in sources:
            cache.set(source, "lint", _result(source))
        assert cache.invalidate_all() == 5
        assert all(cache.get(source, "lint") is None for source in sources)
        assert cache.invalidate_all() == 0


def test_cache_stats(tmp_path: Path) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache:
        cache.get(source, "lint")
        cache.set(source, "lint", _result(source))
        cache.get(source, "lint")
        cache.get(source, "lint")
        stats = cache.stats()
    assert stats["available"] is True
    assert (stats["hits"], stats["misses"], stats["entries"], stats["errors"]) == (2, 1, 1, 0)
    assert stats["hit_rate"] == pytest.approx(2 / 3)
    assert stats["size_bytes"] > 0


def test_cache_does_not_store_results_with_error(tmp_path: Path) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache:
        cache.set(source, "lint", ValidationResult("lint", True, file_path=str(source), error="ruff crashed"))
        assert cache.get(source, "lint") is None


def test_cache_directory_is_owner_only_and_tagged(tmp_path: Path) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    directory = tmp_path / "deep" / "cache"
    with ValidationCache(directory) as cache:
        cache.set(source, "lint", _result(source))
    assert directory.stat().st_mode & 0o777 == 0o700
    assert (directory / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")


def test_cache_creates_nothing_until_used(tmp_path: Path) -> None:
    ValidationCache(tmp_path / "cache").close()
    assert not (tmp_path / "cache").exists()


def test_cache_default_directory_follows_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALIDATION_CACHE_DIR", str(tmp_path / "explicit"))
    assert ValidationCache().directory == tmp_path / "explicit"
    monkeypatch.delenv("VALIDATION_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ValidationCache().directory == tmp_path / "xdg" / "validation"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ValidationCache().directory == tmp_path / "home" / ".cache" / "validation"


@pytest.fixture
def memo_without_diskcache(monkeypatch: pytest.MonkeyPatch) -> Any:
    """memo imported afresh in a process where ``import diskcache`` fails."""
    real_import = builtins.__import__

    def blocked(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "diskcache" or name.startswith("diskcache."):
            raise ImportError("diskcache blocked by test")
        return real_import(name, *args, **kwargs)

    roots = {"memo", "diskcache", "tests"}
    saved = {name: module for name, module in sys.modules.items() if name.split(".")[0] in roots}
    for name in saved:
        if not name.startswith("tests"):
            del sys.modules[name]
    monkeypatch.setattr(builtins, "__import__", blocked)
    try:
        yield importlib.import_module("memo")
    finally:
        monkeypatch.setattr(builtins, "__import__", real_import)
        for name in [name for name in sys.modules if name.split(".")[0] in {"memo", "diskcache"}]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_cache_graceful_without_diskcache(memo_without_diskcache: Any, tmp_path: Path) -> None:
    memo = memo_without_diskcache
    assert memo.CACHE_AVAILABLE is False
    source = write(tmp_path / "a.py", "# TODO\n")
    cache = memo.ValidationCache(tmp_path / "cache")
    assert cache.get(source, "lint") is None
    cache.set(source, "lint", memo.ValidationResult("lint", True, file_path=str(source)))
    assert cache.get(source, "lint") is None
    assert cache.invalidate_all() == 0
    stats = cache.stats()
    assert stats["available"] is False
    assert "diskcache" in stats["reason"]
    cache.close()
    with memo.ValidationCache(tmp_path / "cache"):
        pass
    assert not (tmp_path / "cache").exists()

    calls = []

    class Plain:
        file_path = source
        root = None
        config = None
        version = "1"

        @memo.cached_validation(dimension="todos")
        async def validate(self) -> Any:
            calls.append(1)
            return memo.ValidationResult("todos", True, file_path=str(source))

    first = asyncio.run(Plain().validate())
    second = asyncio.run(Plain().validate())
    assert len(calls) == 2
    assert (first.cached, second.cached) == (False, False)


async def test_cache_concurrent_access(tmp_path: Path) -> None:
    validator = counting_validator_class()
    validator.gate = asyncio.Event()
    sources = [write(tmp_path / f"m{i}.py", f"# TODO {i}\n") for i in range(10)]
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, config={}):
        calls = [asyncio.create_task(validator(source).validate()) for source in sources for _ in range(20)]
        for _ in range(5):
            await asyncio.sleep(0)  # let every call reach its flight
        assert validator.calls == len(sources)  # different keys never wait on each other
        assert cache.flights.in_flight() == len(sources)
        validator.gate.set()
        results = await asyncio.gather(*calls)
        assert cache.flights.in_flight() == 0
        again = await asyncio.gather(*(validator(source).validate() for source in sources))
    assert validator.calls == len(sources)
    assert sum(not r.cached for r in results) == len(sources)
    assert all(r.cached for r in again)
    for source, result in zip(sources, results[::20], strict=True):
        assert result.file_path == str(source)
        assert result.findings[0].path == str(source)


def test_store_failure_warns_once_and_degrades(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o777)
    cache_dir.chmod(0o777)  # world-writable: not trusted
    with caplog.at_level(logging.WARNING, logger="memo"), ValidationCache(cache_dir) as cache:
        cache.set(source, "lint", _result(source))
        assert cache.get(source, "lint") is None
        assert cache.get(source, "lint") is None
        stats = cache.stats()
    assert stats["available"] is False
    assert "writable by group or others" in stats["reason"]
    assert len([r for r in caplog.records if r.name == "memo"]) == 1
    assert not (cache_dir / "cache.db").exists()


@pytest.mark.parametrize("word", ["0", "false", "OFF"])
def test_disabled_env_reaches_the_public_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, word: str) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "warm") as warm:
        warm.set(source, "lint", _result(source))
        monkeypatch.setenv("VALIDATION_CACHE_ENABLED", word)
        assert warm.get(source, "lint") is None, "no read"
        assert warm.invalidate_all() == 0
    monkeypatch.delenv("VALIDATION_CACHE_ENABLED")
    with ValidationCache(tmp_path / "warm") as warm:
        assert warm.get(source, "lint") is not None, "and no clear either"
    monkeypatch.setenv("VALIDATION_CACHE_ENABLED", word)
    with ValidationCache(tmp_path / "cold") as cold:
        cold.set(source, "lint", _result(source))
        stats = cold.stats()
    assert not (tmp_path / "cold").exists(), "no write, nothing on disk"
    assert (stats["enabled"], stats["entries"]) == (False, 0)
    assert "VALIDATION_CACHE_ENABLED" in stats["reason"]


def test_an_unrecognised_enabled_value_warns_once_and_leaves_caching_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("VALIDATION_CACHE_ENABLED", "nope-unrecognised")
    with caplog.at_level(logging.WARNING, logger="memo"):
        assert [caching_enabled() for _ in range(3)] == [True] * 3
    warnings = [r.getMessage() for r in caplog.records if "VALIDATION_CACHE_ENABLED" in r.getMessage()]
    assert len(warnings) == 1
    assert "'nope-unrecognised'" in warnings[0] and "0/false/no/off" in warnings[0]
    caplog.clear()
    for word in ("", "1", "yes", " On "):
        monkeypatch.setenv("VALIDATION_CACHE_ENABLED", word)
        assert caching_enabled() is True
    assert caplog.records == []


def test_ttl_none_never_expires_and_zero_stores_nothing(tmp_path: Path) -> None:
    now = [1_000_000.0]
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache", ttl=None, clock=lambda: now[0]) as cache:
        cache.set(source, "lint", _result(source))
        now[0] += 10 * 365 * 86400
        assert cache.get(source, "lint") is not None
        cache.set(source, "format", _result(source), ttl=0)
        assert cache.get(source, "format") is None
    with ValidationCache(tmp_path / "zero", ttl=0) as zero:
        zero.set(source, "lint", _result(source))
        assert zero.get(source, "lint") is None
        assert zero.stats()["entries"] == 0


class _BatchCountingStore(MemoryStore):
    """A memory store that counts how the cache writes to it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []

    def set(self, key: str, value: bytes, expire: float | None) -> None:
        self.writes.append(1)
        super().set(key, value, expire)

    def set_many(self, items: Sequence[tuple[str, bytes, float | None]]) -> None:
        self.writes.append(len(items))
        for key, value, expire in items:
            super().set(key, value, expire)


async def test_shared_hits_adopted_in_one_tick_are_written_locally_in_one_store_write(tmp_path: Path) -> None:
    store = _BatchCountingStore()
    cache = ValidationCache(store=store)
    entries = {
        f"memo1:lint:{n:040x}": encode_entry(f"memo1:lint:{n:040x}", ValidationResult("lint", True), None)
        for n in range(5)
    }
    adopted = [cache.adopt(key, data, str(tmp_path / f"f{n}.py")) for n, (key, data) in enumerate(entries.items())]
    assert all(result is not None and result.cached for result in adopted)
    assert store.writes == []  # not yet: at the end of this loop tick
    await asyncio.sleep(0)
    assert store.writes == [5]
    assert all(store.get(key) == data for key, data in entries.items())


def test_a_synchronous_adopt_is_written_at_once_and_nothing_is_lost_on_close(tmp_path: Path) -> None:
    store = _BatchCountingStore()
    cache = ValidationCache(store=store)
    key = "memo1:lint:" + "0" * 40
    assert cache.adopt(key, encode_entry(key, ValidationResult("lint", True), None), str(tmp_path / "a.py")) is not None
    assert store.writes == [1] and store.get(key) is not None
