"""Keys are pure and canonical; content hashes name their algorithm and are taken once per run."""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import xxhash

import memo.hashing
from memo import (
    ConfigHashError,
    HashMemo,
    KeyParts,
    ValidationCache,
    ValidatorIdentity,
    canonical_config,
    config_hash,
    derive_key,
    validator_identity,
)
from memo.keys import config_digest, relative_key_path
from tests.helpers import write


def test_config_hash_ignores_key_order_and_is_stable() -> None:
    one = {"lint": {"select": ["E", "F"], "line": 100}, "jobs": 4}
    two = {"jobs": 4, "lint": {"line": 100, "select": ["E", "F"]}}
    assert config_hash(one) == config_hash(two)
    # A literal: the same in every process and Python version, never hash() or repr().
    assert canonical_config(two) == b'{"jobs":4,"lint":{"line":100,"select":["E","F"]}}'


def test_config_hash_changes_with_any_value() -> None:
    base = {"lint": {"select": ["E"]}}
    assert config_hash(base) != config_hash({"lint": {"select": ["F"]}})
    assert config_hash(base) != config_hash({"lint": {"select": ["E"], "x": None}})
    assert config_hash({"a": 1}) != config_hash({"a": "1"})
    assert config_hash({"a": 1}) != config_hash({"a": True})


def test_config_accepts_paths_tuples_and_sets() -> None:
    assert canonical_config({"p": PurePosixPath("a/b"), "t": (1, 2), "s": {"b", "a"}}) == (
        b'{"p":"a/b","s":["a","b"],"t":[1,2]}'
    )


@pytest.mark.parametrize(
    ("config", "where"),
    [
        ({"lint": {"callback": print}}, "config['lint']['callback']"),
        ({"lint": {"select": ["E", object()]}}, "config['lint']['select'][1]"),
        ({"ratio": float("nan")}, "config['ratio']"),
        ({"limit": float("inf")}, "config['limit']"),
        ({"lint": {1: "x"}}, "config['lint']"),
    ],
)
def test_config_that_cannot_be_canonicalised_names_the_key(config: dict[str, Any], where: str) -> None:
    with pytest.raises(TypeError) as caught:
        config_hash(config)
    assert isinstance(caught.value, ConfigHashError)
    assert where in str(caught.value)


def test_key_changes_with_every_part() -> None:
    parts = KeyParts(path="a.py", content="xxh3_128:00", config="c", dimension="lint", validator="v@1")
    keys = {derive_key(parts)}
    for change in (
        {"path": "b.py"},
        {"content": "xxh3_128:01"},
        {"config": "d"},
        {"dimension": "security"},
        {"validator": "v@2"},
        {"schema": parts.schema + 1},
        {"context": "py3.12"},
    ):
        keys.add(derive_key(KeyParts(**{**parts.to_dict(), **change})))
    assert len(keys) == 8
    assert derive_key(parts) == derive_key(KeyParts(**parts.to_dict()))


def test_key_parts_cannot_run_together() -> None:
    one = KeyParts(path="a", content="bc", config="c", dimension="d", validator="v")
    two = KeyParts(path="ab", content="c", config="c", dimension="d", validator="v")
    assert derive_key(one) != derive_key(two)


def test_relative_key_path_is_posix_and_checkout_independent(tmp_path: Path) -> None:
    assert relative_key_path(tmp_path / "pkg" / "a.py", tmp_path) == "pkg/a.py"
    assert relative_key_path(tmp_path / "pkg" / "a.py", str(tmp_path) + os.sep) == "pkg/a.py"
    outside = relative_key_path("/elsewhere/a.py", tmp_path)
    assert outside == "/elsewhere/a.py"
    assert relative_key_path(tmp_path / "pkgx" / "a.py", tmp_path / "pkg").endswith("pkgx/a.py")


def test_key_for_explains_what_the_key_is_made_of(tmp_path: Path) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    cache = ValidationCache(tmp_path / "cache")
    key = cache.key_for(source, "lint", validator="v@1", root=tmp_path, config_hash="cfg")
    assert key.parts.path == "a.py"
    assert key.parts.content == "xxh3_128:" + xxhash.xxh3_128(b"x = 1\n").hexdigest()
    assert (key.parts.config, key.parts.dimension, key.parts.validator) == ("cfg", "lint", "v@1")
    assert key.key == derive_key(key.parts)


def test_content_hash_names_its_algorithm_and_streams_large_files(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    chunk = os.urandom(1 << 16)
    with big.open("wb") as handle:
        for _ in range(64):  # 4 MiB: several read chunks
            handle.write(chunk)
    expected = xxhash.xxh3_128(chunk * 64).hexdigest()
    assert memo.hashing.hash_file(big) == f"xxh3_128:{expected}"


def test_hashlib_fallback_is_used_without_xxhash(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    monkeypatch.setitem(sys.modules, "xxhash", None)
    fallback = importlib.reload(memo.hashing)
    try:
        assert fallback.HASH_ALGORITHM == "blake2b"
        expected = hashlib.blake2b(b"x = 1\n", digest_size=16).hexdigest()
        assert fallback.hash_file(source) == f"blake2b:{expected}"
    finally:
        monkeypatch.undo()
        importlib.reload(memo.hashing)


def test_hashing_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError):
        HashMemo().stamp(str(fifo))  # must not block on the FIFO
    with pytest.raises(OSError):
        HashMemo().stamp(str(tmp_path))


def test_hash_memo_reads_a_settled_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    old = 1_600_000_000_000_000_000
    os.utime(source, ns=(old, old))
    reads: list[str] = []
    real = memo.hashing._hash_open  # the one place a file's bytes are read
    monkeypatch.setattr(memo.hashing, "_hash_open", lambda path: reads.append(path) or real(path))
    # ctime cannot be set back, so the clock is moved forward past the racy window instead.
    hashes = HashMemo(clock_ns=lambda: os.stat(source).st_ctime_ns + 10**10)
    stamps = [hashes.stamp(str(source)) for _ in range(5)]
    assert len(reads) == 1
    assert len({stamp.digest for stamp in stamps}) == 1
    assert hashes.unchanged_since(str(source), stamps[0])
    write(source, "x = 2\n")
    assert hashes.stamp(str(source)).digest != stamps[0].digest
    assert not hashes.unchanged_since(str(source), stamps[0])


def test_hash_memo_rereads_a_recently_changed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    reads: list[str] = []
    real = memo.hashing._hash_open  # the one place a file's bytes are read
    monkeypatch.setattr(memo.hashing, "_hash_open", lambda path: reads.append(path) or real(path))
    hashes = HashMemo(clock_ns=lambda: os.stat(source).st_ctime_ns)  # "now" is the change itself
    hashes.stamp(str(source))
    hashes.stamp(str(source))
    assert len(reads) == 2
    assert len(hashes) == 0


def test_hash_memo_is_a_window_of_the_most_recent_files(tmp_path: Path) -> None:
    sources = [write(tmp_path / f"m{i}.py", "x\n") for i in range(10)]
    hashes = HashMemo(max_entries=4, clock_ns=lambda: 2**62)
    stamps = [hashes.stamp(str(source)) for source in sources]
    assert 4 <= len(hashes) <= 8
    # The last four are remembered (the very stamp comes back); the first is read again.
    assert all(hashes.stamp(str(source)) is stamp for source, stamp in zip(sources[-4:], stamps[-4:], strict=True))
    again = hashes.stamp(str(sources[0]))
    assert again is not stamps[0] and again == stamps[0]


def _identity(module: str, qualname: str, version: str, tool: str | None = None) -> str:
    attrs: dict[str, Any] = {"__module__": module, "__qualname__": qualname, "version": version}
    if tool is not None:
        attrs["cache_identity"] = lambda self: tool
    return validator_identity(type("Check", (), attrs)())


def test_validator_identity_is_unambiguous() -> None:
    assert _identity("plugins.todo", "Check", "1") != _identity("plugins", "todo.Check", "1")
    assert _identity("plugins", "Check", "1+x") != _identity("plugins", "Check", "1", tool="x")
    assert _identity("plugins", "Check", "1@2") != _identity("plugins", "Check@1", "2")


def test_validator_identity_reads_as_its_pieces_and_decodes_back() -> None:
    identity = _identity("plugins.todo", "Check", "1+x", tool="ruff 0.6")
    decoded = ValidatorIdentity.decode(identity)
    assert decoded is not None and (decoded.module, decoded.qualname, decoded.tool) == (
        "plugins.todo",
        "Check",
        "ruff 0.6",
    )
    assert decoded.version.startswith("1+x+code.")  # the version, then the digest of the class's code
    assert identity.endswith(f"plugins.todo.Check@{decoded.version}+ruff 0.6")
    plain = ValidatorIdentity.decode(_identity("m", "C", "2"))
    assert plain is not None and plain.version.startswith("2+code.") and plain.tool is None
    for junk in ("", "m.C@1", "[1,1]m.C@1", "[1,1,9]m.C@1", "[1,1,1]m.C@1x", "[a,1,1]m.C@1"):
        assert ValidatorIdentity.decode(junk) is None, junk


def test_config_digest_of_a_non_mapping_never_equals_a_mappings() -> None:
    assert config_digest(None) == config_digest({}) == config_hash({})
    assert config_digest(["a"]) != config_digest({"a": None})
    assert config_digest("x") != config_digest(["x"])
