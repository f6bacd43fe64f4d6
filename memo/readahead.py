"""Entries read ahead in one store read, each kept for the one lookup that follows.

A caller that knows a batch of keys before it looks them up (a run's checks) reads them
in one query instead of one per key (``ValidationCache.prefetch``). What was read waits
here until ``lookup`` takes it: once, since a lookup after that must see what the store
holds then. A key found missing is kept as ``None``: a miss for its next lookup, unless
something is stored under it first (``store`` drops the key, so it is read afresh).

The buffer is a ``dict`` so that the hit path takes an entry with one C-level ``pop``
and tests its emptiness without a call: it is read on every lookup. (The module is not
``memo/prefetch.py``: importing it would rebind ``memo.prefetch``, the public function.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PREFETCH_LIMIT = 1 << 16
"""Prefetched entries kept for the lookups to come; past it, the oldest prefetch is dropped."""

NOT_PREFETCHED: object = object()
"""What ``Prefetched.pop(key, NOT_PREFETCHED)`` returns for a key nobody read ahead."""


class Prefetched(dict[str, "bytes | None"]):
    """``{key: entry bytes, or None for found missing}``, each taken by one lookup (``pop``)."""

    __slots__ = ()

    def fill(self, wanted: Sequence[str], found: Mapping[str, bytes]) -> None:
        """Keep what one read of ``wanted`` ``found``; the keys it did not find as None.

        Bounded: a batch that would pass ``PREFETCH_LIMIT`` first drops everything read
        before it (entries no lookup took: a run that planned more than it asked).
        """
        if len(self) + len(wanted) > PREFETCH_LIMIT:
            self.clear()
        for key in wanted:
            self[key] = found.get(key)
