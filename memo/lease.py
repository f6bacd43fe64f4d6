"""Leases: across machines, the first to miss a key runs its check; the others wait for it.

When a CI fan-out starts N machines on one commit, each would otherwise run every check.
The first machine to miss a key takes a lease on it (Redis ``SET NX PX``: set only if
absent, with an expiry). The others poll, with growing pauses, until the entry appears
(then they use it) or the lease is gone (the holder stored nothing, or died and its
lease expired: then one of them takes the lease and runs the check). Every wait is
bounded: after ``wait_s`` a machine runs the check itself rather than wait any longer.

Each round trip here goes through the remote tier's batchers, so a thousand keys
waiting together cost one pipeline per poll, not a thousand.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

DEFAULT_LEASE_MS = 30_000
"""How long a lease lives if its holder never releases it (it died)."""

DEFAULT_WAIT_S = 60.0
"""The longest a machine waits on other machines' leases for one key before running it itself."""


@dataclass(frozen=True)
class LeasePolicy:
    """How long leases live, how long to wait on them, and how often to look."""

    ttl_ms: int = DEFAULT_LEASE_MS
    wait_s: float = DEFAULT_WAIT_S
    first_poll_s: float = 0.02
    max_poll_s: float = 0.5

    def __post_init__(self) -> None:
        if self.ttl_ms < 1 or self.wait_s < 0 or not 0 < self.first_poll_s <= self.max_poll_s:
            raise ValueError(f"invalid lease policy: {self!r}")


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key.

    ``token`` set: this machine holds the lease; it runs the check and then releases.
    ``value`` set: another machine's verified entry (no lease is held then).
    Neither: run the check without a lease (the tier is down, or the wait ran out).
    """

    token: str | None = None
    value: bytes | None = None
    waited: bool = False


class LeaseClient(Protocol):
    """The two round trips a claim needs; None from either means the shared tier is down."""

    async def try_lease(self, key: str, token: str, ttl_ms: int) -> tuple[bool, bytes | None] | None:
        """Take the lease if free, and read the entry in the same round trip: (taken, entry)."""
        ...

    async def lease_state(self, key: str) -> tuple[bytes | None, bool] | None:
        """The entry (if any, verified) and whether the lease is held: (entry, held)."""
        ...

    def release(self, key: str, token: str) -> None:
        """Give up the lease on ``key`` if ``token`` still holds it."""
        ...


def new_token() -> str:
    """A lease token no other machine or call will hold."""
    return secrets.token_hex(12)


async def claim(
    client: LeaseClient,
    key: str,
    policy: LeasePolicy,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Claim:
    """Take the lease on ``key``, or wait (bounded) for whoever holds it. Never raises for tier faults."""
    token = new_token()
    deadline = clock() + policy.wait_s
    pause = policy.first_poll_s
    waited = False
    while True:
        taken = await client.try_lease(key, token, policy.ttl_ms)
        if taken is None:
            return Claim(waited=waited)
        acquired, value = taken
        if value is not None:
            # Someone finished between our lookup and now (and released): use theirs.
            if acquired:
                client.release(key, token)
            return Claim(value=value, waited=waited)
        if acquired:
            return Claim(token=token, waited=waited)
        while True:
            if clock() >= deadline:
                return Claim(waited=True)
            waited = True
            await sleep(pause)
            pause = min(pause * 2, policy.max_poll_s)
            state = await client.lease_state(key)
            if state is None:
                return Claim(waited=True)
            value, held = state
            if value is not None:
                return Claim(value=value, waited=True)
            if not held:
                break  # released without an entry, or expired with its holder: take it
