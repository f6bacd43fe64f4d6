"""Bad input at the cache's edge: a clear miss or a correct result, never a hang, a traceback or a wrong entry."""

from __future__ import annotations

import asyncio
import logging
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from memo import ConfigHashError, HashMemo, ValidationCache, ValidationResult, bind_cache, hash_file
from memo.decorator import plan_call
from memo.hashing import CHUNK_SIZE

from ._support import as_unprivileged, fingerprint, fingerprint_validator, scaled, shared_tmp


async def _twice(cache_dir: Path, path: Path, validator: Any) -> tuple[Any, Any]:
    with ValidationCache(cache_dir) as cache, bind_cache(cache):
        return await validator(path).validate(), await validator(path).validate()


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00" * 64, b"x = 1\x00\x00\n\xff\xfe", "s = 'caf\u00e9'\n".encode("latin-1"), bytes(range(256)) * 64],
    ids=["empty", "nul-bytes", "binary", "latin-1", "all-bytes"],
)
async def test_unusual_content_is_cached_under_its_own_bytes(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "odd.py"
    path.write_bytes(content)
    neighbour = tmp_path / "neighbour.py"
    neighbour.write_bytes(content + b"#")
    validator = fingerprint_validator()
    first, second = await _twice(tmp_path / "cache", path, validator)
    other, _ = await _twice(tmp_path / "cache", neighbour, validator)
    assert first.findings[0].message == second.findings[0].message == fingerprint("fingerprint", content)
    assert (first.cached, second.cached) == (False, True)
    assert other.findings[0].message == fingerprint("fingerprint", content + b"#")


@pytest.mark.parametrize(
    "name",
    ["with space.py", "caf\u00e9 \u65e5\u672c.py", "new\nline.py", "tab\tand 'quote\".py", "-dash.py", "\u200b.py"],
    ids=["space", "unicode", "newline", "tab-quotes", "leading-dash", "zero-width"],
)
async def test_awkward_paths_get_their_own_entries_and_findings(tmp_path: Path, name: str) -> None:
    path = tmp_path / "dir with space" / name
    path.parent.mkdir()
    path.write_text("x = 1\n")
    plain = tmp_path / "plain.py"
    plain.write_text("x = 1\n")
    validator = fingerprint_validator()
    first, second = await _twice(tmp_path / "cache", path, validator)
    assert second.cached and second.file_path == str(path)
    assert second.findings[0].path == str(path)  # re-rooted to the awkward path exactly
    assert first.to_dict() == {**second.to_dict(), "cached": False}
    _, plain_again = await _twice(tmp_path / "cache", plain, validator)
    assert plain_again.findings[0].path == str(plain)


def _special_files(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "fifo.py"
    os.mkfifo(fifo)
    device = tmp_path / "device.py"
    device.symlink_to("/dev/zero")
    loop_a, loop_b = tmp_path / "loop_a.py", tmp_path / "loop_b.py"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    dangling = tmp_path / "dangling.py"
    dangling.symlink_to(tmp_path / "missing.py")
    directory = tmp_path / "package.py"
    directory.mkdir()
    return {
        "fifo": fifo,
        "device": device,
        "symlink-loop": loop_a,
        "dangling-symlink": dangling,
        "directory": directory,
        "deleted": tmp_path / "deleted.py",
        "nul-in-name": Path(str(tmp_path / "nul") + "\x00.py"),
    }


SPECIAL = ["fifo", "device", "symlink-loop", "dangling-symlink", "directory", "deleted", "nul-in-name"]


@pytest.mark.parametrize("kind", SPECIAL)
def test_special_files_are_a_miss_and_never_stored(tmp_path: Path, kind: str) -> None:
    path = _special_files(tmp_path)[kind]
    result = ValidationResult("lint", True, [], file_path=str(path))
    with ValidationCache(tmp_path / "cache") as cache:
        assert cache.get(path, "lint") is None  # a FIFO would block the open; /dev/zero never ends
        cache.set(path, "lint", result)
        assert cache.get(path, "lint") is None
        stats = cache.stats()
    assert (stats["entries"], stats["errors"]) == (0, 0)


@pytest.mark.parametrize("kind", SPECIAL)
def test_special_files_run_uncached_through_the_decorator(tmp_path: Path, kind: str) -> None:
    path = _special_files(tmp_path)[kind]
    validator = fingerprint_validator()
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache):
        assert plan_call(validator(path), "fingerprint") is None
    with pytest.raises((OSError, ValueError)):  # ValueError: the NUL byte
        hash_file(path)


async def test_a_file_deleted_after_discovery_stores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "gone.py"
    path.write_text("x = 1\n")
    validator = fingerprint_validator()
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache):
        found = validator(path)  # discovered
        path.unlink()
        with pytest.raises(FileNotFoundError):
            await found.validate()  # the validator's own error, not the cache's
        assert cache.stats()["entries"] == 0


async def test_a_file_changed_while_being_hashed_is_not_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import memo.hashing

    path = tmp_path / "moving.py"
    path.write_text("x = 1\n")
    real = memo.hashing._hash_open  # the one place a file's bytes are read

    def hash_then_change(target: Any) -> Any:
        taken = real(target)
        with open(target, "a", encoding="utf-8") as out:
            out.write("y = 2\n")  # a save lands while the digest is being taken
        return taken

    monkeypatch.setattr(memo.hashing, "_hash_open", hash_then_change)
    validator = fingerprint_validator()
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache):
        result = await validator(path).validate()
        assert cache.stats()["entries"] == 0
    assert result.cached is False


async def test_a_file_changed_and_changed_back_during_validation_stores_nothing(tmp_path: Path) -> None:
    # A, then B while the validator reads, then A again before the result is stored:
    # the result is B's, and storing it under A's digest would be a wrong entry.
    path = tmp_path / "flip.py"
    path.write_text("A = 1\n")
    validator = fingerprint_validator()
    real = validator.validate.__wrapped__  # type: ignore[attr-defined]

    class Flipping(validator):  # type: ignore[misc, valid-type]
        async def body(self) -> ValidationResult:
            path.write_text("B = 1\n")
            result: ValidationResult = await real(self)
            path.write_text("A = 1\n")
            return result

    from memo import cached_validation

    Flipping.validate = cached_validation(dimension="fingerprint")(Flipping.body)  # type: ignore[method-assign]
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache):
        await Flipping(path).validate()
        assert cache.stats()["entries"] == 0
        served = await validator(path).validate()
    assert served.findings[0].message == fingerprint("fingerprint", b"A = 1\n")


def _unreadable_outcome(path: Path, cache_dir: Path) -> dict[str, Any]:
    validator = fingerprint_validator()
    with ValidationCache(cache_dir) as cache, bind_cache(cache):
        planned = plan_call(validator(path), "fingerprint")
        got = cache.get(path, "fingerprint")
        try:
            asyncio.run(validator(path).validate())
            error = None
        except PermissionError as exc:
            error = type(exc).__name__
        return {
            "planned": planned is not None,
            "got": got is not None,
            "error": error,
            "entries": cache.stats()["entries"],
        }


def test_an_unreadable_file_is_a_miss_and_the_validator_reports_it() -> None:
    with shared_tmp() as base:
        path = base / "secret.py"
        path.write_text("x = 1\n")
        os.chmod(path, 0o000)
        outcome = as_unprivileged(lambda: _unreadable_outcome(path, base / "cache"))
    assert outcome == {"planned": False, "got": False, "error": "PermissionError", "entries": 0}


@pytest.mark.stress
def test_hashing_a_huge_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    size = scaled(256) << 20
    path = tmp_path / "huge.bin"
    with open(path, "wb") as out:
        out.truncate(size)  # sparse: costs no disk, reads as zeros
        out.seek(size - 1)
        out.write(b"\x01")
    tracemalloc.start()
    try:
        digest = hash_file(path)
        stamp = HashMemo().stamp(str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stamp.digest == digest
    assert peak < 4 * CHUNK_SIZE, f"peak {peak} bytes hashing {size} bytes"


async def test_a_config_with_no_json_form_is_a_clear_error_at_bind_time(tmp_path: Path) -> None:
    cache = ValidationCache(tmp_path / "cache")
    with pytest.raises(ConfigHashError, match=r"config\['lint'\]\['ratio'\]"):
        bind_cache(cache, config={"lint": {"ratio": float("nan")}}).__enter__()


@pytest.mark.parametrize(
    "config",
    [{"callback": print}, {"ratio": float("inf")}, {1: "int key"}, {"nested": [{"obj": object()}]}],
    ids=["function", "infinity", "int-key", "nested-object"],
)
async def test_a_validator_config_with_no_json_form_runs_uncached_with_one_warning(
    tmp_path: Path, config: dict[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "a.py"
    path.write_text("x = 1\n")
    validator = fingerprint_validator()
    with (
        caplog.at_level(logging.WARNING, logger="memo"),
        ValidationCache(tmp_path / "cache") as cache,
        bind_cache(cache),
    ):
        results = [await validator(path, config=config).validate() for _ in range(3)]
        assert cache.stats()["entries"] == 0
    assert all(r.findings[0].message == fingerprint("fingerprint", b"x = 1\n") for r in results)
    warnings = [r.getMessage() for r in caplog.records if r.name == "memo"]
    assert len(warnings) == 1 and "cannot be hashed" in warnings[0]


async def test_a_result_with_no_json_form_is_returned_but_not_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "a.py"
    path.write_text("x = 1\n")
    from memo import Finding, cached_validation
    from memo.validators.base import Validator

    class Odd(Validator):
        dimension = "odd"

        @cached_validation(dimension="odd")
        async def validate(self) -> ValidationResult:
            return ValidationResult(
                "odd", True, [Finding(str(self.file_path), 1, 1, "X", "lone \udcff surrogate")], duration_s=float("nan")
            )

    with (
        caplog.at_level(logging.WARNING, logger="memo"),
        ValidationCache(tmp_path / "cache") as cache,
        bind_cache(cache),
    ):
        first, second = await Odd(path).validate(), await Odd(path).validate()
        assert cache.stats()["entries"] == 0
    assert not first.cached and not second.cached
    assert "cannot be stored as JSON" in caplog.text


@pytest.mark.stress
async def test_tens_of_thousands_of_findings_round_trip_exactly(tmp_path: Path) -> None:
    path = tmp_path / "noisy.py"
    path.write_text("x = 1\n")
    count = scaled(30_000)
    validator = fingerprint_validator(padding=count)
    first, second = await _twice(tmp_path / "cache", path, validator)
    assert len(second.findings) == count + 1 and second.cached
    assert first.to_dict() == {**second.to_dict(), "cached": False}
