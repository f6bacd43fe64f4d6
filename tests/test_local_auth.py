"""Local entries are served only if they verify under a key the cache directory does not hold."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import stat
from pathlib import Path

import diskcache
import pytest

from memo import ValidationCache, ValidationResult, bind_cache, plan_call
from memo.codec import encode_entry
from memo.credentials import LOCAL_KEY_ENV
from memo.errors import StoreError
from memo.localauth import MAGIC, LocalSealer, key_file, local_sealer, new_key_text
from memo.sealedstore import SealedStore
from memo.store import DELETE, KEEP, DiskStore, MemoryStore
from tests.helpers import CountingValidator, counting_validator_class, write

FAILING = "x = 1  # TODO\n"


async def check(cls: type[CountingValidator], source: Path, cache_dir: Path) -> ValidationResult:
    with ValidationCache(cache_dir) as cache, bind_cache(cache, root=source.parent):
        return await cls(source, {}, source.parent).validate()


def entry_key(cls: type[CountingValidator], source: Path, cache_dir: Path) -> str:
    with ValidationCache(cache_dir) as cache, bind_cache(cache, root=source.parent):
        plan = plan_call(cls(source, {}, source.parent), "todos")
        assert plan is not None
        return plan.key


def other_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> None:
    """From here on, this process has the local key of another user or machine."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / name))


async def test_a_planted_passed_entry_for_a_failing_file_is_a_miss_and_the_finding_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = write(tmp_path / "src" / "bad.py", FAILING)
    cache_dir = tmp_path / "cache"
    cls = counting_validator_class()
    key = entry_key(cls, source, cache_dir)
    # What an attacker who can write the directory plants: a well-formed entry, under the
    # right key, that decodes to "passed" (it would be served if nothing checked its origin).
    planted = encode_entry(key, ValidationResult("todos", True, file_path=str(source)), None)
    with ValidationCache(
        cache_dir
    ) as made:  # memo's own directory (its CACHEDIR.TAG): a database beside none is foreign
        made.stats()
    with diskcache.Cache(str(cache_dir)) as raw:
        raw.set(key, planted)
    with caplog.at_level(logging.WARNING, logger="memo"):
        result = await check(cls, source, cache_dir)
    assert (result.passed, result.cached, [f.code for f in result.findings]) == (False, False, ["TD001"])
    assert cls.calls == 1
    assert "local key" in caplog.text and LOCAL_KEY_ENV in caplog.text
    again = await check(cls, source, cache_dir)  # the real result replaced the planted one
    assert (again.passed, again.cached, cls.calls) == (False, True, 1)


async def test_an_entry_sealed_under_another_key_is_a_miss(tmp_path: Path) -> None:
    source = write(tmp_path / "src" / "bad.py", FAILING)
    cache_dir = tmp_path / "cache"
    cls = counting_validator_class()
    key = entry_key(cls, source, cache_dir)
    forged = LocalSealer(new_key_text().encode(), "attacker").seal(
        key, encode_entry(key, ValidationResult("todos", True, file_path=str(source)), None)
    )
    with ValidationCache(cache_dir) as made:
        made.stats()
    with diskcache.Cache(str(cache_dir)) as raw:
        raw.set(key, forged)
    result = await check(cls, source, cache_dir)
    assert (result.passed, result.cached, cls.calls) == (False, False, 1)


async def test_a_cache_directory_copied_to_another_users_machine_misses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(tmp_path / "src" / "bad.py", FAILING)
    cls = counting_validator_class()
    await check(cls, source, tmp_path / "mine")
    assert (await check(cls, source, tmp_path / "mine")).cached  # a hit where it was made
    shutil.copytree(tmp_path / "mine", tmp_path / "theirs")
    other_machine(monkeypatch, tmp_path, "their-config")
    result = await check(cls, source, tmp_path / "theirs")
    assert (result.cached, result.passed, cls.calls) == (False, False, 2)


async def test_with_the_same_local_key_on_both_sides_a_restored_directory_hits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(tmp_path / "src" / "bad.py", FAILING)
    cls = counting_validator_class()
    monkeypatch.setenv(LOCAL_KEY_ENV, new_key_text())  # CI: from a secret, in every job
    other_machine(monkeypatch, tmp_path, "saving-job")
    await check(cls, source, tmp_path / "saved")
    shutil.copytree(tmp_path / "saved", tmp_path / "restored")  # actions/cache: save, then restore
    other_machine(monkeypatch, tmp_path, "restoring-job")
    result = await check(cls, source, tmp_path / "restored")
    assert (result.cached, result.passed, cls.calls) == (True, False, 1)
    assert not key_file().exists(), "with the variable set, no key file is made"


def test_the_key_file_is_made_once_private_and_outside_the_cache(tmp_path: Path) -> None:
    sealer = local_sealer()
    path = tmp_path / "config" / "memo" / "local.key"  # XDG_CONFIG_HOME is tmp_path/config (conftest)
    assert key_file() == path and sealer.source == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text().strip()
    assert len(text) == 64
    assert LocalSealer(text.encode(), "file").open("k", sealer.seal("k", b"v")) == b"v"
    assert [p.name for p in path.parent.iterdir()] == ["local.key"], "no draft left behind"


def test_an_existing_key_file_is_used_as_it_is(tmp_path: Path) -> None:
    text = new_key_text()
    path = key_file()
    path.parent.mkdir(parents=True)
    path.write_text(text + "\n")
    path.chmod(0o600)
    assert LocalSealer(text.encode(), "x").open("k", local_sealer().seal("k", b"v")) == b"v"


def test_without_home_or_xdg_the_key_file_is_under_the_home_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert key_file() == Path.home() / ".config" / "memo" / "local.key"


@pytest.mark.parametrize("problem", ["open-to-others", "a-link", "too-short", "not-text"])
def test_a_key_file_that_cannot_be_trusted_degrades_to_this_process_only_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, problem: str
) -> None:
    path = key_file()
    path.parent.mkdir(parents=True)
    if problem == "a-link":
        (tmp_path / "elsewhere").write_text(new_key_text())
        (tmp_path / "elsewhere").chmod(0o600)
        path.symlink_to(tmp_path / "elsewhere")
    else:
        content = {"too-short": b"abc", "not-text": b"\xff" * 64}.get(problem, new_key_text().encode())
        path.write_bytes(content)
        path.chmod(0o644 if problem == "open-to-others" else 0o600)
    with caplog.at_level(logging.WARNING, logger="memo"):
        sealer = local_sealer()
        assert local_sealer() is sealer
    assert sealer.source == "this process only"
    assert len(caplog.records) == 1 and "no local key" in caplog.text
    file_text = path.read_bytes()
    assert LocalSealer(file_text, "file").open("k", sealer.seal("k", b"v")) is None
    assert sealer.open("k", sealer.seal("k", b"v")) == b"v"  # still a cache within the process


def test_a_key_file_that_cannot_be_made_degrades_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the config directory would be\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocked))
    with caplog.at_level(logging.WARNING, logger="memo"):
        sealer = local_sealer()
    assert sealer.source == "this process only" and len(caplog.records) == 1
    assert f"no local key (cannot use {key_file()}: " in caplog.records[0].getMessage()


def test_a_short_local_key_variable_degrades_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    short = secrets.token_hex(8)  # new each time: a sealer is made once per key source and process
    monkeypatch.setenv(LOCAL_KEY_ENV, short)
    with caplog.at_level(logging.WARNING, logger="memo"):
        sealer = local_sealer()
    assert sealer.source == "this process only" and LOCAL_KEY_ENV in caplog.text and short not in caplog.text


async def test_a_run_without_a_usable_key_still_reports_the_truth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocked))
    source = write(tmp_path / "src" / "bad.py", FAILING)
    cls = counting_validator_class()
    first, second = await check(cls, source, tmp_path / "c"), await check(cls, source, tmp_path / "c")
    assert (first.passed, second.passed, second.cached, cls.calls) == (False, False, True, 1)


# -- the sealer and the sealed store --------------------------------------------------------


def sealer() -> LocalSealer:
    return LocalSealer(b"k" * 32, "test")


def test_a_sealed_value_opens_only_for_its_key_and_key_text() -> None:
    sealed = sealer().seal("ab", b"cd")
    assert sealed.startswith(MAGIC)
    assert sealer().open("ab", sealed) == b"cd"
    assert sealer().open("a", sealed) is None
    assert sealer().open("a", sealed[: len(sealed) - 2] + b"bcd") is None
    assert LocalSealer(b"j" * 32, "other").open("ab", sealed) is None


@pytest.mark.parametrize("cut", [0, 1, len(MAGIC), len(MAGIC) + 31])
def test_a_truncated_or_unsealed_value_is_refused(cut: int) -> None:
    sealed = sealer().seal("k", b"")
    assert len(sealed) == len(MAGIC) + 32 and sealer().open("k", sealed) == b""
    assert sealer().open("k", sealed[:cut]) is None
    assert sealer().open("k", b"plain") is None
    assert sealer().open("k", bytearray(sealed)) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("where", [0, len(MAGIC), len(MAGIC) + 31, -1])
def test_a_changed_byte_is_refused(where: int) -> None:
    sealed = bytearray(sealer().seal("k", b"value"))
    sealed[where] ^= 1
    assert sealer().open("k", bytes(sealed)) is None


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        LocalSealer(b"", "nothing")


def test_the_sealed_store_refuses_values_that_are_not_bytes() -> None:
    store = SealedStore(MemoryStore(), sealer())
    with pytest.raises(StoreError):
        store.set("k", "text", None)  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        store.set_many([("k", bytearray(b"x"), None)])  # type: ignore[list-item]
    assert store.count() == 0


def test_the_sealed_store_keeps_sealed_bytes_in_the_inner_store() -> None:
    inner = MemoryStore()
    store = SealedStore(inner, sealer())
    store.set_many([("a", b"1", None), ("b", b"2", None)])
    store.set("c", b"3", None)
    assert store.get_many(["a", "b", "c", "d"]) == {"a": b"1", "b": b"2", "c": b"3"}
    assert all(inner.get(k) == sealer().seal(k, v) for k, v in (("a", b"1"), ("b", b"2"), ("c", b"3")))


def test_the_sealed_store_refuses_unsealed_values_counts_and_drops_them(caplog: pytest.LogCaptureFixture) -> None:
    inner = MemoryStore()
    store = SealedStore(inner, sealer())
    store.set("good", b"1", None)
    inner.set("bad1", b"planted", None)
    inner.set("bad2", b"planted", None)
    with caplog.at_level(logging.WARNING, logger="memo"):
        assert store.get_many(["good", "bad1", "bad2"]) == {"good": b"1"}
    assert store.refused == 2 and inner.get("bad1") is None and inner.get("bad2") is None
    assert len(caplog.records) == 1
    inner.set("bad3", b"planted", None)
    with pytest.raises(StoreError, match="local key"):
        store.get("bad3")
    assert store.refused == 3


def test_the_sealed_store_update_sees_opened_values_and_seals_what_it_sets() -> None:
    seen: dict[str, bytes | None] = {}

    def decide(key: str, current: bytes | None) -> object:
        seen[key] = current
        return {"a": (b"2", None), "b": DELETE}.get(key, KEEP)

    class Updatable(MemoryStore):
        def update_many(self, keys: list[str], update: object) -> None:
            for key in keys:
                change = update(key, self.get(key))  # type: ignore[operator]
                if change is DELETE:
                    self.delete(key)
                elif isinstance(change, tuple):
                    self.set(key, change[0], change[1])

    updatable = Updatable()
    store = SealedStore(updatable, sealer())
    store.set("a", b"1", None)
    updatable.set("c", b"planted", None)
    store.update_many(["a", "b", "c"], decide)  # type: ignore[arg-type]
    assert seen == {"a": b"1", "b": None, "c": None}
    assert store.get("a") == b"2"
    with pytest.raises(TypeError):
        SealedStore(MemoryStore(), sealer()).update_many(["a"], decide)  # type: ignore[arg-type]


def test_explain_records_planted_in_the_directory_are_not_believed(tmp_path: Path) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache:
        cache.set(source, "lint", ValidationResult("lint", True, file_path=str(source)))
        cache.flush_records()
        path = cache.key_for(source, "lint").parts.path
        assert cache.last_stored("lint", path) is not None
    with diskcache.Cache(str(tmp_path / "cache" / "explain")) as raw:
        (index_key,) = list(raw.iterkeys())
        raw.set(index_key, b'{"key":"planted","parts":{}}')
    with ValidationCache(tmp_path / "cache") as cache:
        assert cache.last_stored("lint", path) is None


def test_the_key_file_is_never_inside_the_cache_directory(tmp_path: Path) -> None:
    with ValidationCache(tmp_path / "cache") as cache:
        cache.set(write(tmp_path / "a.py", "x = 1\n"), "lint", ValidationResult("lint", True))
    assert not any(p.name == "local.key" for p in (tmp_path / "cache").rglob("*"))
    assert os.path.commonpath([key_file(), tmp_path / "cache"]) != str(tmp_path / "cache")


# -- what the mutation run (mutmut) showed the tests above leave open -----------------------

KNOWN_SEALED = bytes.fromhex(
    "6d656d6f2d6c6f63616c313a9e581b631712bcabdf46e0a22bc55d0587855ae567752b711ffa2bd4587d51fe5b315d"
)
"""``seal("k1", b"[1]")`` under the key ``b"k" * 32``."""


def test_the_local_format_is_fixed_so_a_restored_directory_verifies_under_another_version() -> None:
    assert sealer().seal("k1", b"[1]") == KNOWN_SEALED
    assert sealer().open("k1", KNOWN_SEALED) == b"[1]"


def test_a_key_with_a_lone_surrogate_is_sealed_for_itself_only() -> None:
    assert sealer().open("k\udc80", sealer().seal("k\udc80", b"v")) == b"v"
    assert sealer().open("k\udc81", sealer().seal("k\udc80", b"v")) is None


def test_an_empty_key_message_says_exactly_that() -> None:
    with pytest.raises(ValueError, match=r"^a local key must not be empty$"):
        LocalSealer(b"", "nothing")


def test_a_local_key_of_exactly_the_minimum_length_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    text = secrets.token_hex(16)  # 32 characters, new each time
    monkeypatch.setenv(LOCAL_KEY_ENV, text)
    sealer_ = local_sealer()
    assert sealer_.source == LOCAL_KEY_ENV and local_sealer() is sealer_
    assert LocalSealer(text.encode(), "x").open("k", sealer_.seal("k", b"v")) == b"v"


def test_a_short_local_key_warning_names_the_variable_and_how_to_make_a_key(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(LOCAL_KEY_ENV, secrets.token_hex(4))
    with caplog.at_level(logging.WARNING, logger="memo"):
        local_sealer()
    message = caplog.records[0].getMessage()
    assert message.startswith(f"memo cache: no local key ({LOCAL_KEY_ENV} holds 8 characters, fewer than 32 ")
    assert "(`memo cache keygen --local` prints a key)); entries are sealed" in message
    assert message.endswith(f"are misses (set {LOCAL_KEY_ENV}, or fix the key file)")


@pytest.mark.parametrize(
    ("problem", "reason"),
    [
        ("open-to-others", "is open to other users (chmod 600 "),
        ("not-text", "does not hold a key"),
        ("too-short", "holds 3 characters"),
        ("a-directory", "is not a regular file"),
    ],
)
def test_the_warning_says_what_is_wrong_with_the_key_file(
    caplog: pytest.LogCaptureFixture, problem: str, reason: str
) -> None:
    path = key_file()
    path.parent.mkdir(parents=True)
    if problem == "a-directory":
        path.mkdir()
    else:
        path.write_bytes({"too-short": b"abc", "not-text": b"\xff" * 64}.get(problem, new_key_text().encode()))
        path.chmod(0o644 if problem == "open-to-others" else 0o600)
    with caplog.at_level(logging.WARNING, logger="memo"):
        local_sealer()
    message = caplog.records[0].getMessage()
    assert f"no local key ({path}" in message or f"cannot use {path}" in message
    assert reason in message
    assert "cannot use " not in message


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="only root can give a file away")
def test_a_key_file_of_another_user_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    path = key_file()
    path.parent.mkdir(parents=True)
    path.write_text(new_key_text())
    path.chmod(0o600)
    os.chown(path, 12345, 12345)
    with caplog.at_level(logging.WARNING, logger="memo"):
        assert local_sealer().source == "this process only"
    assert f"{path} belongs to another user" in caplog.text


def test_a_key_file_is_made_in_a_config_directory_that_already_exists() -> None:
    key_file().parent.mkdir(parents=True)
    assert local_sealer().source == str(key_file())


def test_a_key_file_made_meanwhile_by_another_process_is_kept() -> None:
    from memo.localauth import _create_key_file

    path = key_file()
    path.parent.mkdir(parents=True)
    path.write_text("theirs\n")
    _create_key_file(path)  # lost the race: no error, and the winner's key stays
    assert path.read_text() == "theirs\n"
    assert [p.name for p in path.parent.iterdir()] == ["local.key"]


def test_the_sealed_store_names_where_a_refused_entry_was(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    memory = MemoryStore()
    memory.set("k", b"planted", None)
    with pytest.raises(StoreError, match=r"^an entry in MemoryStore does not verify under this machine's local key"):
        SealedStore(memory, sealer()).get("k")
    disk = DiskStore(tmp_path / "cache")
    disk.set("k", b"planted", None)
    with caplog.at_level(logging.WARNING, logger="memo"):
        assert SealedStore(disk, sealer()).get_many(["k"]) == {}
    disk.close()
    message = caplog.records[0].getMessage()
    assert message.startswith(f"memo cache: an entry in {tmp_path / 'cache'} does not verify")
    assert message.endswith(f"give both machines the same {LOCAL_KEY_ENV}); such entries are misses")


def test_a_refused_entry_that_cannot_be_dropped_is_still_left_out() -> None:
    class Undeletable(MemoryStore):
        def delete(self, key: str) -> None:
            raise StoreError("read-only directory")

    inner = Undeletable()
    inner.set("k", b"planted", None)
    assert SealedStore(inner, sealer()).get_many(["k"]) == {}


def test_the_sealed_store_says_what_it_refused_to_store_or_update() -> None:
    with pytest.raises(StoreError, match=r"^values are bytes, not str$"):
        SealedStore(MemoryStore(), sealer()).set("k", "text", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^MemoryStore has no update_many$"):
        SealedStore(MemoryStore(), sealer()).update_many(["k"], lambda key, current: KEEP)


def test_the_sealed_store_deletes_the_key_asked_for() -> None:
    store = SealedStore(MemoryStore(), sealer())
    store.set("a", b"1", None)
    store.set("b", b"2", None)
    store.delete("a")
    assert (store.get("a"), store.get("b"), store.count()) == (None, b"2", 1)


def test_the_sealed_store_reports_an_empty_value_as_empty() -> None:
    store = SealedStore(MemoryStore(), sealer())
    store.set("empty", b"", None)
    store.set("three", b"abc", None)
    assert sorted(store.sizes()) == [("empty", 0), ("three", 3)]
