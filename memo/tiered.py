"""The two-tier path of a decorated call: local disk first, then the shared tier, then the check.

Kept apart from the decorator so that the decorator's part is two calls: ``remote_lookup``
after a local miss, and ``leased`` around the single-flight leader's work (under the shared
tier's lease, or the cache directory's when there is no writable shared tier).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from memo.cache import CACHE_TTL, TTL, ValidationCache
from memo.lease import Claim
from memo.results import ValidationResult


class Leases(Protocol):
    """Where a lease is taken: the shared tier (``RemoteTier``) or the cache directory (``LocalLeases``)."""

    async def claim(self, key: str) -> Claim: ...

    def release(self, key: str, token: str) -> None: ...


async def remote_lookup(cache: ValidationCache, key: str, file_path: str | None) -> ValidationResult | None:
    """The verified shared entry for ``key``, now also in the local tier; None on a miss."""
    remote = cache.remote
    if remote is None:
        return None
    data = await remote.get(key)
    return None if data is None else cache.adopt(key, data, file_path)


async def leased(
    cache: ValidationCache,
    key: str,
    file_path: str | None,
    compute: Callable[[], Awaitable[tuple[Any, bool]]],
    ttl: TTL = CACHE_TTL,
) -> tuple[Any, bool]:
    """``compute()`` under a lease on ``key``, or the entry another holder computed meanwhile.

    Returns what ``compute`` returns: (result, stored). A writable shared tier's lease
    covers every process of every machine, this one's included; without one, the cache
    directory's lease (``memo.locallease``) covers the processes sharing it. A lease is
    released once the entry (stored by ``cache.store`` inside ``compute``) is written.
    """
    lease: Leases | None
    remote = cache.remote
    if remote is not None and remote.writable:
        lease, take = remote, cache.adopt  # the holder's entry came from the shared tier: keep a copy
    else:
        lease, take = cache.local_leases(ttl), cache.shared_result  # the holder wrote it here already
    if lease is None:
        return await compute()
    claim = await lease.claim(key)
    if claim.value is not None:
        result = take(key, claim.value, file_path)
        if result is not None:
            return result, True
    try:
        return await compute()
    finally:
        if claim.token is not None:
            lease.release(key, claim.token)
