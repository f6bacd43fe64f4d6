"""The README's Redis ACL users, on a real redis-server: readers read and verify, and cannot write.

The two ``ACL SETUSER`` lines are taken from README.md as they are printed, so the
recipe users copy is the one proven here.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from memo import ValidationCache, bind_cache
from memo.lease import LeasePolicy
from memo.remote import KEY_PREFIX, READ_ONLY, READ_WRITE, RemoteError, RemoteTier
from memo.signing import Signer
from tests.helpers import counting_validator_class, write
from tests.remote_support import RedisServer, reader, signer

README = Path(__file__).resolve().parent.parent / "README.md"
PASSWORDS = {"memo-reader": "reader-pw-123", "memo-writer": "writer-pw-456"}  # nosec B105 - test-only
ENTRY = b'[3,"k",null,"lint",true,null,0.01,[]]'


def readme_acl_lines() -> list[list[str]]:
    """The README's ``ACL SETUSER`` commands, words split as a shell would, passwords filled in."""
    lines = [line.strip() for line in README.read_text(encoding="utf-8").splitlines()]
    found = [shlex.split(line) for line in lines if line.startswith("ACL SETUSER memo-")]
    assert [words[2] for words in found] == ["memo-reader", "memo-writer"], "the README's two users"
    for words in found:
        words[:] = [f">{PASSWORDS[words[2]]}" if word.startswith(">") else word for word in words]
    return found


@pytest.fixture
def acl_redis() -> Iterator[RedisServer]:
    """A server of this test's own (users are server-wide), with the README's two users."""
    server = RedisServer(tcp=True)
    try:
        with server.client() as client:
            for words in readme_acl_lines():
                assert client.execute_command(*words) in (b"OK", "OK", True)
        yield server
    finally:
        server.stop()


def as_user(server: RedisServer, user: str, keys: Signer, mode: str) -> RemoteTier:
    """A tier connecting to ``server`` as ``user``, the password from the environment's place."""
    return RemoteTier(
        server.url.replace("redis://", f"redis://{user}@"),
        keys,
        mode=mode,
        password=PASSWORDS[user],
        connect_timeout=2.0,
        op_timeout=2.0,
        lease=LeasePolicy(ttl_ms=5_000, wait_s=30.0),
    )


def user_client(server: RedisServer, user: str) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=server.port, username=user, password=PASSWORDS[user])


async def test_a_reader_user_reads_and_verifies_what_the_writer_user_wrote(acl_redis: RedisServer) -> None:
    writer = as_user(acl_redis, "memo-writer", signer(), READ_WRITE)
    reading = as_user(acl_redis, "memo-reader", reader(), READ_ONLY)
    try:
        claim = await writer.claim("k")
        assert claim.token is not None
        writer.put("k", ENTRY, 60)
        writer.release("k", claim.token)
        assert writer.wait_for_writes()
        assert writer.counters.write_errors == 0 and writer.available
        assert await reading.get("k") == ENTRY
        assert await reading.lease_state("k") == (ENTRY, False)  # the lease was released by its holder
        assert (reading.counters.hits, reading.counters.errors, reading.available) == (1, 0, True)
        assert writer.clear() == 1
    finally:
        writer.close()
        reading.close()


@pytest.mark.parametrize(
    "command",
    [
        ("SET", KEY_PREFIX + "e:k", b"planted"),
        ("DEL", KEY_PREFIX + "e:k"),
        ("UNLINK", KEY_PREFIX + "e:k"),
        ("SET", KEY_PREFIX + "l:k", b"token", "NX", "PX", 5000),
        ("EVAL", "return redis.call('del', KEYS[1])", 1, KEY_PREFIX + "e:k"),
        ("FLUSHALL",),
        ("SET", "elsewhere", b"x"),
        ("GET", "elsewhere"),
    ],
    ids=lambda command: str(command[0]) if len(command) < 3 or command[0] != "SET" else f"SET-{command[1]!s:.12}",
)
def test_the_reader_user_is_refused_every_write_and_every_key_outside_memo(
    acl_redis: RedisServer, command: tuple[Any, ...]
) -> None:
    with acl_redis.client() as admin:
        admin.set(KEY_PREFIX + "e:k", b"kept")
    with user_client(acl_redis, "memo-reader") as client:
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.execute_command(*command)
        assert client.getrange(KEY_PREFIX + "e:k", 0, -1) == b"kept"
    with acl_redis.client() as admin:
        assert admin.get(KEY_PREFIX + "e:k") == b"kept"


async def test_every_write_memo_attempts_as_the_reader_user_is_a_warning_never_a_failed_validation(
    acl_redis: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    files = [write(tmp_path / "src" / f"m{i}.py", "x = 1\n" + ("# TODO\n" if i % 2 else "")) for i in range(4)]
    writer = as_user(acl_redis, "memo-writer", signer(), READ_WRITE)
    truth_cls = counting_validator_class()
    with ValidationCache(tmp_path / "writer", remote=writer) as cache, bind_cache(cache, root=tmp_path / "src"):
        truth = [await truth_cls(path, {}, tmp_path / "src").validate() for path in files[:2]]
    with acl_redis.client() as admin:
        written = sorted(admin.keys(KEY_PREFIX + "*"))
    assert len(written) == 2
    # The worst case: a job that holds a signing key (so it tries to write) but the reader's user.
    trying = as_user(acl_redis, "memo-reader", signer(), READ_WRITE)
    cls = counting_validator_class()
    cache = ValidationCache(tmp_path / "reader", remote=trying)
    with caplog.at_level(logging.WARNING, logger="memo"), cache, bind_cache(cache, root=tmp_path / "src"):
        results = list(await asyncio.gather(*(cls(path, {}, tmp_path / "src").validate() for path in files)))
        stats = trying.stats()
    assert [(r.passed, [f.line for f in r.findings]) for r in results[:2]] == [
        (r.passed, [f.line for f in r.findings]) for r in truth
    ]
    assert [r.passed for r in results] == [True, False, True, False]
    assert cls.calls == 2, "the two the writer wrote were served from the shared tier, verified"
    assert stats["hits"] == 2 and stats["mode"] == READ_ONLY and stats["available"]
    assert "refused a write" in caplog.text and "reader-pw-123" not in caplog.text
    assert caplog.text.count("refused a write") == 1
    with acl_redis.client() as admin:
        assert sorted(admin.keys(KEY_PREFIX + "*")) == written, "nothing was written"


def test_clearing_as_the_reader_user_is_one_clear_error(acl_redis: RedisServer) -> None:
    trying = as_user(acl_redis, "memo-reader", signer(), READ_WRITE)
    try:
        with pytest.raises(RemoteError) as raised:
            trying.clear()
        message = str(raised.value)
        assert "cannot clear" in message and "permission" in message.lower() and "\n" not in message
        assert "reader-pw-123" not in message
    finally:
        trying.close()
