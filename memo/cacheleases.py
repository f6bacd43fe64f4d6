"""A cache directory's local leases (``memo.locallease``), opened on the first miss that needs them.

Two processes sharing a cache directory run each check once: the first to miss takes a
lease, the other waits for its entry. The leases live in ``leases/`` beside the results.
They are opened only when a check misses, so a run with every result cached creates
nothing, and tried once: a directory whose leases cannot be opened validates without them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from memo.lease import LeasePolicy
from memo.locallease import LEASE_DIRECTORY, LocalLeases
from memo.store import DiskStore

LEASE_STORE_LIMIT = 1 << 24
"""Size limit of the leases' database: a lease is a few hundred bytes, held for one check."""


def open_lease_store(cache_dir: Path, *, timeout: float) -> DiskStore:
    """The leases' store in ``cache_dir`` (``leases/``)."""
    return DiskStore(cache_dir, subdirectory=LEASE_DIRECTORY, size_limit=LEASE_STORE_LIMIT, timeout=timeout)


class CacheLeases:
    """The ``LocalLeases`` of the cache in ``cache_dir``, opened once, on first use.

    ``entry`` and ``before_release`` are ``LocalLeases``'s: how a waiter reads the
    holder's entry, and what to await (deferred writes) before a lease is given up.
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        timeout: float,
        policy: LeasePolicy,
        entry: Callable[[str], bytes | None],
        before_release: Callable[[], Awaitable[None]],
    ) -> None:
        self._cache_dir = cache_dir
        self._timeout = timeout
        self._policy = policy
        self._entry = entry
        self._before_release = before_release
        self._leases: LocalLeases | None = None
        self._tried = False

    def get(self) -> LocalLeases | None:
        """The leases, opened now if this is the first call; None when they are unavailable."""
        leases = self._leases
        if leases is None and not self._tried:
            self._tried = True
            store = open_lease_store(self._cache_dir, timeout=self._timeout)
            leases = self._leases = LocalLeases(
                store, self._entry, policy=self._policy, before_release=self._before_release
            )
        return leases if leases is not None and leases.available else None

    def close(self) -> None:
        """Release what is queued and close the leases' database, if it was opened."""
        if self._leases is not None:
            self._leases.close()
