"""The shared tier on its own, against a real redis-server: batching, signing, modes, faults, leases."""

# ruff: noqa: F811  (the redis fixtures are imported, and named as arguments)

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

import pytest
import redis

from memo.credentials import PASSWORD_ENV, REMOTE_ENV, SECRET_ENV, SIGNING_KEY_ENV, VERIFY_KEYS_ENV
from memo.lease import LeasePolicy
from memo.remote import KEY_PREFIX, MODE_ENV, READ_ONLY, remote_from_environment
from memo.signing import MAGIC
from tests.remote_support import (  # noqa: F401
    SIGNING_KEY,
    VERIFY_KEY,
    RedisServer,
    attacker,
    command_calls,
    free_port,
    make_tier,
    own_redis,
    redis_server,
    shared_redis,
    signer,
)

ENTRY = b'[3,"k",null,"lint",true,null,0.01,[]]'


async def test_an_entry_written_by_one_machine_is_read_by_another(redis_server: RedisServer) -> None:
    writer, reader = make_tier(redis_server.url), make_tier(redis_server.url)
    try:
        writer.put("k", ENTRY, 3600)
        assert writer.wait_for_writes()
        assert await reader.get("k") == ENTRY
        assert reader.counters.hits == 1
    finally:
        writer.close()
        reader.close()


async def test_entries_are_sealed_prefixed_and_expire(redis_server: RedisServer) -> None:
    tier = make_tier(redis_server.url)
    try:
        tier.put("k", ENTRY, 3600)
        tier.put("forever", ENTRY, None)
        assert tier.wait_for_writes()
    finally:
        tier.close()
    with redis_server.client() as client:
        raw = client.get(KEY_PREFIX + "e:k")
        assert raw is not None and raw != ENTRY and raw.endswith(ENTRY)
        assert 0 < client.pttl(KEY_PREFIX + "e:k") <= 3600 * 1000
        assert 0 < client.pttl(KEY_PREFIX + "e:forever") <= tier.max_ttl_s * 1000


async def test_entries_written_in_one_tick_share_one_signature_and_each_reads_back(
    redis_server: RedisServer,
) -> None:
    writer, reader = make_tier(redis_server.url), make_tier(redis_server.url, keys=signer("", VERIFY_KEY))
    values = {f"k{i}": ENTRY.replace(b'"k"', f'"k{i}"'.encode()) for i in range(5)}
    try:
        for key, value in values.items():
            writer.put(key, value, 60)
        assert writer.wait_for_writes()
        with redis_server.client() as client:
            raw = [client.get(KEY_PREFIX + "e:" + key) for key in values]
        assert all(r is not None for r in raw) and len({r[: len(MAGIC) + 8 + 64] for r in raw if r}) == 1
        assert [await reader.get(key) for key in values] == list(values.values())
        with redis_server.client() as client:  # moved to another key of its batch: the signature is known, still a miss
            client.set(KEY_PREFIX + "e:k1", raw[0] or b"")
        assert await reader.get("k1") is None and reader.counters.rejected == 1
    finally:
        writer.close()
        reader.close()


async def test_lookups_in_one_tick_go_out_as_one_round_trip(redis_server: RedisServer) -> None:
    tier = make_tier(redis_server.url)
    try:
        for i in range(0, 200, 2):
            tier.put(f"k{i}", ENTRY, 60)
        assert tier.wait_for_writes()
        before = {command: command_calls(redis_server, command) for command in ("getrange", "strlen", "get")}
        pipelines = 0
        pipeline = tier._client.pipeline

        def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal pipelines
            pipelines += 1
            return pipeline(*args, **kwargs)

        tier._client.pipeline = counted  # type: ignore[method-assign]
        values = await asyncio.gather(*(tier.get(f"k{i}") for i in range(200)))
        assert pipelines == 1
        assert {command: command_calls(redis_server, command) - n for command, n in before.items()} == {
            "getrange": 200,
            "strlen": 0,
            "get": 0,
        }
        assert [v is not None for v in values] == [i % 2 == 0 for i in range(200)]
        assert (tier.counters.hits, tier.counters.misses) == (100, 100)
    finally:
        tier.close()


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(attacker().seal("k", ENTRY), id="forged"),
        pytest.param(ENTRY, id="unsigned"),
        pytest.param(signer().seal("k", ENTRY)[:-5], id="truncated"),
        pytest.param(signer().seal("other-key", ENTRY), id="moved-from-another-key"),
    ],
)
async def test_an_entry_that_does_not_verify_is_a_counted_miss(redis_server: RedisServer, stored: bytes) -> None:
    with redis_server.client() as client:
        client.set(KEY_PREFIX + "e:k", stored)
    tier = make_tier(redis_server.url)
    try:
        assert await tier.get("k") is None
        assert (tier.counters.rejected, tier.counters.misses, tier.counters.hits) == (1, 1, 0)
    finally:
        tier.close()


async def test_values_over_the_size_cap_are_neither_written_nor_trusted(redis_server: RedisServer) -> None:
    tier = make_tier(redis_server.url, max_value_bytes=200)
    try:
        tier.put("big", b"x" * 500, 60)
        assert tier.wait_for_writes()
        with redis_server.client() as client:
            assert client.exists(KEY_PREFIX + "e:big") == 0
            client.set(KEY_PREFIX + "e:big", signer().seal("big", b"y" * 500))
        assert await tier.get("big") is None
        assert tier.counters.rejected == 1
    finally:
        tier.close()


async def test_read_only_mode_reads_and_writes_nothing(redis_server: RedisServer) -> None:
    with redis_server.client() as client:
        client.set(KEY_PREFIX + "e:seen", signer().seal("seen", ENTRY))
    tier = make_tier(redis_server.url, mode=READ_ONLY)
    try:
        assert await tier.get("seen") == ENTRY
        tier.put("new", ENTRY, 60)
        claim = await tier.claim("new")
        tier.release("new", "token")
        assert tier.wait_for_writes()
        assert (claim.token, claim.value) == (None, None)
        with redis_server.client() as client:
            assert client.keys("*") == [(KEY_PREFIX + "e:seen").encode()]
        with pytest.raises(Exception, match="read-only"):
            tier.clear()
    finally:
        tier.close()


async def test_clear_removes_memo_keys_only(redis_server: RedisServer) -> None:
    with redis_server.client() as client:
        client.set("someone-else", b"1")
    tier = make_tier(redis_server.url)
    try:
        for i in range(30):
            tier.put(f"k{i}", ENTRY, 60)
        assert tier.wait_for_writes()
        assert tier.clear() == 30
    finally:
        tier.close()
    with redis_server.client() as client:
        assert client.keys("*") == [b"someone-else"]


async def test_a_refused_connection_turns_the_tier_off_once_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    tier = make_tier(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with caplog.at_level(logging.WARNING, logger="memo"):
            for _ in range(3):
                assert await asyncio.gather(*(tier.get(f"k{i}") for i in range(100))) == [None] * 100
            tier.put("k", ENTRY, 60)
            assert await tier.claim("k") == type(await tier.claim("k"))()
        assert tier.counters.errors == 1
        assert tier.counters.skipped == 200
        assert not tier.available
        assert len([r for r in caplog.records if "remote cache" in r.getMessage()]) == 1
    finally:
        tier.close()


async def test_a_stalled_server_costs_each_batch_a_bounded_wait(own_redis: RedisServer) -> None:
    tier = make_tier(own_redis.url, op_timeout=0.2, connect_timeout=0.5)
    sleeper = own_redis.client(socket_timeout=120)

    def stall() -> None:
        with contextlib.suppress(redis.RedisError):  # the server is killed at the end of the test
            sleeper.execute_command("DEBUG", "SLEEP", "60")

    stalled = threading.Thread(target=stall, daemon=True)
    try:
        stalled.start()
        with own_redis.client(socket_timeout=0.1) as probe:
            for _ in range(200):  # until a PING goes unanswered: the server is asleep
                try:
                    probe.ping()
                except redis.TimeoutError:
                    break
        for _ in range(4):
            assert await asyncio.gather(*(tier.get(f"k{i}") for i in range(20))) == [None] * 20
        # Every batch came back while the server still slept: each waited a bounded time.
        assert stalled.is_alive()
        assert tier.counters.timeouts >= 1
        assert not tier.available
    finally:
        tier.close()
        own_redis.kill()
        stalled.join(timeout=10)
        sleeper.close()


async def test_a_killed_server_mid_run_leaves_a_miss_not_an_error(own_redis: RedisServer) -> None:
    tier = make_tier(own_redis.url)
    try:
        tier.put("k", ENTRY, 60)
        assert tier.wait_for_writes()
        assert await tier.get("k") == ENTRY
        own_redis.kill()
        assert await tier.get("k") is None
        tier.put("k2", ENTRY, 60)
        assert tier.wait_for_writes()
        assert not tier.available
    finally:
        tier.close()


async def test_the_password_comes_from_the_environment_and_is_never_shown(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer(tcp=True, password="pa55-word-xyz")  # nosec B106 - a throwaway password for a test redis server
    try:
        monkeypatch.setenv(SIGNING_KEY_ENV, SIGNING_KEY)
        monkeypatch.setenv(PASSWORD_ENV, "pa55-word-xyz")
        tier = remote_from_environment(server.url)
        assert tier is not None
        tier.put("k", ENTRY, 60)
        assert tier.wait_for_writes()
        assert await tier.get("k") == ENTRY
        tier.close()

        monkeypatch.delenv(PASSWORD_ENV)
        wrong = server.url.replace("redis://", "redis://:wrong-pass-abc@")
        with caplog.at_level(logging.WARNING, logger="memo"):
            tier = remote_from_environment(wrong)
            assert tier is not None
            assert await tier.get("k") is None
            tier.close()
        assert "wrong-pass-abc" not in caplog.text and "wrong-pass-abc" not in repr(tier.stats())
        assert ":***@" in caplog.text
        assert not tier.available
    finally:
        server.stop()


def test_without_a_key_the_tier_is_off_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in (SECRET_ENV, SIGNING_KEY_ENV, VERIFY_KEYS_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(REMOTE_ENV, "redis://:hunter2@127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING, logger="memo"):
        assert remote_from_environment() is None
    assert SIGNING_KEY_ENV in caplog.text and VERIFY_KEYS_ENV in caplog.text and "hunter2" not in caplog.text
    assert len(caplog.records) == 1


def test_a_bad_address_or_mode_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, SIGNING_KEY)
    with pytest.raises(ValueError, match="redis://") as bad:
        remote_from_environment("http://:hunter2@example.invalid")
    assert "hunter2" not in str(bad.value)
    monkeypatch.setenv(MODE_ENV, "sometimes")
    with pytest.raises(ValueError, match="read-only"):
        remote_from_environment("redis://127.0.0.1:1/0")


async def test_the_environment_chooses_read_only(monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, SIGNING_KEY)
    monkeypatch.setenv(MODE_ENV, "read-only")
    tier = remote_from_environment(redis_server.url)
    assert tier is not None and tier.mode == READ_ONLY and not tier.writable
    tier.close()


# -- leases ------------------------------------------------------------------------------


async def test_a_waiting_machine_gets_the_lease_holders_entry(redis_server: RedisServer) -> None:
    first, second = make_tier(redis_server.url), make_tier(redis_server.url)
    try:
        held = await first.claim("k")
        assert held.token is not None and held.value is None
        waiting = asyncio.ensure_future(second.claim("k"))
        first.put("k", ENTRY, 60)
        first.release("k", held.token)
        got = await waiting
        assert (got.token, got.value) == (None, ENTRY)
        assert (first.counters.leases_taken, second.counters.lease_hits) == (1, 1)
    finally:
        first.close()
        second.close()


async def test_a_dead_holders_lease_expires_and_another_machine_takes_it(redis_server: RedisServer) -> None:
    dead = make_tier(redis_server.url, lease=LeasePolicy(ttl_ms=300))
    alive = make_tier(redis_server.url, lease=LeasePolicy(ttl_ms=300, wait_s=30.0))
    try:
        assert (await dead.claim("k")).token is not None
        dead.close()  # never releases: its lease must expire by itself
        taken = await alive.claim("k")
        assert taken.token is not None and taken.waited
    finally:
        alive.close()


async def test_a_release_without_an_entry_lets_a_waiter_run_the_check(redis_server: RedisServer) -> None:
    first, second = make_tier(redis_server.url), make_tier(redis_server.url)
    try:
        held = await first.claim("k")
        assert held.token is not None
        waiting = asyncio.ensure_future(second.claim("k"))
        first.release("k", held.token)  # an error result: nothing stored
        got = await waiting
        assert got.token is not None and got.value is None
    finally:
        first.close()
        second.close()


async def test_the_wait_on_a_lease_is_bounded(redis_server: RedisServer) -> None:
    holder = make_tier(redis_server.url, lease=LeasePolicy(ttl_ms=60_000))
    impatient = make_tier(redis_server.url, lease=LeasePolicy(ttl_ms=60_000, wait_s=0.0))
    try:
        assert (await holder.claim("k")).token is not None
        got = await impatient.claim("k")
        assert (got.token, got.value, got.waited) == (None, None, True)
    finally:
        holder.close()
        impatient.close()


async def test_a_release_by_someone_else_leaves_the_lease_alone(redis_server: RedisServer) -> None:
    first, second = make_tier(redis_server.url), make_tier(redis_server.url)
    try:
        held = await first.claim("k")
        second.release("k", "not-the-token")
        assert second.wait_for_writes()
        with redis_server.client() as client:
            assert client.get(KEY_PREFIX + "l:k") == (held.token or "").encode()
    finally:
        first.close()
        second.close()
