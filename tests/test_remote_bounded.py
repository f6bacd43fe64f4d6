"""The shared tier is bounded whatever the server holds: oversized values are refused before transfer.

Anyone who can write to Redis (no key needed) can plant values under memo's keys. A
lookup must then cost a bounded number of bytes and a bounded time, never the whole
value: the size cap is enforced by what is asked of the server (``GETRANGE``,
``STRLEN``), not after the value arrived. Bytes are measured on the real server
(``INFO stats``: ``total_net_output_bytes``), not with a clock.
"""

# ruff: noqa: F811  (the redis fixtures are imported, and named as arguments)

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from memo.lease import LeasePolicy
from memo.remote import DEFAULT_MAX_VALUE_BYTES, KEY_PREFIX, PROBE_BYTES
from tests.remote_support import (  # noqa: F401
    RedisServer,
    make_tier,
    redis_server,
    shared_redis,
    signer,
)

PLANTED = 8 * 2**20
"""The size of a planted value: eight times the cap."""

ENTRY = b'[3,"k",null,"lint",true,null,0.01,[]]'


def sent_bytes(server: RedisServer) -> int:
    """Bytes the server has sent to all clients since it started."""
    with server.client() as client:
        return int(client.info("stats")["total_net_output_bytes"])


async def test_oversized_values_are_refused_having_transferred_at_most_the_probe(redis_server: RedisServer) -> None:
    count = 32
    with redis_server.client() as client:
        for i in range(count):
            # Validly sealed: only the size, not the signature, can refuse them.
            client.set(KEY_PREFIX + f"e:k{i}", signer().seal(f"k{i}", b"x" * PLANTED))
    tier = make_tier(redis_server.url)
    try:
        before = sent_bytes(redis_server)
        values = await asyncio.gather(*(tier.get(f"k{i}") for i in range(count)))
        sent = sent_bytes(redis_server) - before
        assert values == [None] * count
        assert tier.counters.rejected == count and tier.available
        assert sent < count * (PROBE_BYTES + 1024)  # the probe and a length each, never the value
    finally:
        tier.close()


async def test_an_oversized_value_read_with_a_lease_is_refused_before_transfer(redis_server: RedisServer) -> None:
    with redis_server.client() as client:
        client.set(KEY_PREFIX + "e:k", b"x" * PLANTED)
    tier = make_tier(redis_server.url)
    try:
        before = sent_bytes(redis_server)
        assert await tier.try_lease("k", "token", 5_000) == (True, None)
        assert sent_bytes(redis_server) - before < PROBE_BYTES + 4096  # and the INFO reply itself
        assert tier.counters.rejected == 1
    finally:
        tier.close()


async def test_a_value_longer_than_the_probe_and_within_the_cap_is_read_whole(redis_server: RedisServer) -> None:
    large = b"[" + b" " * (PROBE_BYTES * 3) + ENTRY[1:]
    tier = make_tier(redis_server.url)
    try:
        tier.put("k", large, 60)
        tier.put("small", ENTRY, 60)
        assert tier.wait_for_writes()
        assert await asyncio.gather(tier.get("k"), tier.get("small")) == [large, ENTRY]
        assert (tier.counters.hits, tier.counters.rejected) == (2, 0)
    finally:
        tier.close()


async def test_a_value_just_over_the_cap_is_refused_and_one_at_the_cap_is_served(redis_server: RedisServer) -> None:
    sealer = signer()
    head = len(sealer.seal("k", b""))
    with redis_server.client() as client:
        client.set(KEY_PREFIX + "e:at", sealer.seal("at", b"a" * (DEFAULT_MAX_VALUE_BYTES - head)))
        client.set(KEY_PREFIX + "e:over", sealer.seal("over", b"o" * (DEFAULT_MAX_VALUE_BYTES - head + 1)))
    tier = make_tier(redis_server.url)
    try:
        at, over = await asyncio.gather(tier.get("at"), tier.get("over"))
        assert at == b"a" * (DEFAULT_MAX_VALUE_BYTES - head) and over is None
        assert tier.counters.rejected == 1
    finally:
        tier.close()


async def test_values_of_another_type_are_counted_misses_and_leave_the_tier_on(redis_server: RedisServer) -> None:
    with redis_server.client() as client:
        client.hset(KEY_PREFIX + "e:hash", mapping={"a": "b"})
        client.rpush(KEY_PREFIX + "e:list", *[b"x" * 1024] * 1000)
        client.sadd(KEY_PREFIX + "l:held", "planted")
        client.set(KEY_PREFIX + "e:empty", b"")
    tier = make_tier(redis_server.url)
    try:
        values = await asyncio.gather(tier.get("hash"), tier.get("list"), tier.get("empty"))
        assert values == [None, None, None]
        assert tier.counters.rejected == 2
        state = await tier.lease_state("held")
        assert state == (None, False)  # a lease key of another type holds no lease
        assert await tier.try_lease("hash", "token", 5_000) == (True, None)
        assert tier.available
    finally:
        tier.close()


class DrippingServer:
    """Speaks just enough RESP3 to be connected to, then answers a lookup one byte at a time."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.socket.getsockname()[1]}/0"
        self.dripping = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.socket.accept()
        with connection:
            while True:
                data = connection.recv(65536)
                if not data:
                    return
                if b"HELLO" in data:
                    connection.sendall(b"%1\r\n+proto\r\n:3\r\n")
                elif b"GETRANGE" in data.upper():
                    break
                else:
                    connection.sendall(b"+OK\r\n" * data.count(b"*"))
            connection.sendall(b"$60000\r\n")
            self.dripping.set()
            while not self.stop.wait(0.05):  # a byte well within every socket timeout
                try:
                    connection.sendall(b"x")
                except OSError:
                    return

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.socket.close()


async def test_a_reply_that_drips_costs_one_bounded_wait_and_closing_frees_its_thread() -> None:
    server = DrippingServer()
    tier = make_tier(server.url, op_timeout=0.2, connect_timeout=0.5)
    try:
        assert await tier.get("k") is None
        assert server.dripping.is_set() and not server.stop.is_set()  # came back while it still dripped
        assert tier.counters.timeouts == 1
        tier.close()
        workers = [t for t in threading.enumerate() if t.name.startswith("memo-remote")]
        for worker in workers:
            worker.join(timeout=10)
        assert not any(worker.is_alive() for worker in workers)  # not held until the reply ends
    finally:
        tier.close()
        server.close()


@pytest.mark.parametrize("plant", ["no-expiry", "a-year", "a-hash"])
async def test_a_planted_lease_that_no_lease_could_leave_is_taken_without_waiting(
    redis_server: RedisServer, plant: str
) -> None:
    name = KEY_PREFIX + "l:k"
    with redis_server.client() as client:
        if plant == "a-hash":
            client.hset(name, mapping={"a": "b"})
        else:
            client.set(name, "planted", px=365 * 86400 * 1000 if plant == "a-year" else None)
    tier = make_tier(redis_server.url, lease=LeasePolicy(ttl_ms=5_000, wait_s=3600.0))
    try:
        assert await tier.lease_state("k") == (None, False)
        got = await tier.claim("k")
        assert got.token is not None and not got.waited
        with redis_server.client() as client:
            assert client.get(name) == got.token.encode()
            assert 0 < client.pttl(name) <= 5_000
    finally:
        tier.close()


async def test_a_lease_taken_by_another_machine_is_still_waited_on(redis_server: RedisServer) -> None:
    holder = make_tier(redis_server.url, lease=LeasePolicy(ttl_ms=5_000))
    waiter = make_tier(redis_server.url, lease=LeasePolicy(ttl_ms=5_000, wait_s=0.0))
    try:
        held = await holder.claim("k")
        assert held.token is not None
        assert await waiter.lease_state("k") == (None, True)
        got = await waiter.claim("k")
        assert (got.token, got.waited) == (None, True)
    finally:
        holder.close()
        waiter.close()
