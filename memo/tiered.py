"""The two-tier path of a decorated call: local disk first, then the shared tier, then the check.

Kept apart from the decorator so that the decorator's part is two calls: ``remote_lookup``
after a local miss, and ``leased`` around the single-flight leader's work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from memo.cache import ValidationCache
from memo.results import ValidationResult


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
) -> tuple[Any, bool]:
    """``compute()`` under this machine's lease on ``key``, or another machine's entry for it.

    Returns what ``compute`` returns: (result, stored). The lease is released once the
    entry (queued by ``cache.store`` inside ``compute``) has been queued to the shared tier.
    """
    remote = cache.remote
    if remote is None or not remote.writable:
        return await compute()
    claim = await remote.claim(key)
    if claim.value is not None:
        adopted = cache.adopt(key, claim.value, file_path)
        if adopted is not None:
            return adopted, True
    try:
        return await compute()
    finally:
        if claim.token is not None:
            remote.release(key, claim.token)
