"""A store whose values are sealed on the way in and opened on the way out.

Wraps any ``memo.store.Store`` with a sealer (``memo.localauth.LocalSealer``, or anything
with its ``seal``/``open``): what the inner store holds is only trusted once its seal
opens under a key the store's directory does not hold. A value whose seal does not open
(planted, moved to another key, restored from a machine with another key, truncated) is
never handed on: ``get`` raises ``UnsafeEntryError``, as the disk store does for a row
that fails its own checks (the cache counts it, drops it and warns once); ``get_many``
leaves it out and drops it, as the disk store's ``get_many`` does.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from memo.credentials import LOCAL_KEY_ENV
from memo.errors import StoreError, UnsafeEntryError
from memo.store import Change, Store

log = logging.getLogger("memo")


class Sealer(Protocol):
    """Seals a value for a key; opens a sealed value, or gives None if it does not verify."""

    def seal(self, key: str, value: bytes) -> bytes: ...

    def open(self, key: str, sealed: bytes) -> bytes | None: ...


class SealedStore:
    """``inner``, with every value sealed by ``sealer`` when written and opened when read."""

    def __init__(self, inner: Store, sealer: Sealer) -> None:
        self.inner = inner
        self.sealer = sealer
        self.refused = 0
        """Values read by this object whose seal did not open."""
        self._overhead = len(sealer.seal("", b""))
        """Bytes a seal adds to a value: ``sizes`` reports values' own lengths, as the contract says."""

    def _refused(self) -> UnsafeEntryError:
        self.refused += 1
        where = getattr(self.inner, "directory", None)
        return UnsafeEntryError(
            f"an entry in {where if where is not None else type(self.inner).__name__} does not verify under "
            "this machine's local key (planted, or a cache restored from elsewhere: give both machines the same "
            f"{LOCAL_KEY_ENV}); such entries are misses"
        )

    def get(self, key: str) -> bytes | None:
        sealed = self.inner.get(key)
        if sealed is None:
            return None
        value = self.sealer.open(key, sealed)
        if value is None:
            raise self._refused()
        return value

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        refused: list[str] = []
        open_ = self.sealer.open
        for key, sealed in self.inner.get_many(keys).items():
            value = open_(key, sealed)
            if value is None:
                refused.append(key)
            else:
                found[key] = value
        if refused:
            exc = self._refused()
            self.refused += len(refused) - 1
            if self.refused == len(refused):  # the first this process: say so once
                log.warning("memo cache: %s", exc)
            for key in refused:
                with contextlib.suppress(StoreError):
                    self.inner.delete(key)
        return found

    def _seal(self, key: str, value: bytes) -> bytes:
        if type(value) is not bytes:
            raise UnsafeEntryError(f"values are bytes, not {type(value).__name__}")
        return self.sealer.seal(key, value)

    def set(self, key: str, value: bytes, expire: float | None) -> None:
        self.inner.set(key, self._seal(key, value), expire)

    def set_many(self, items: Sequence[tuple[str, bytes, float | None]]) -> None:
        self.inner.set_many([(key, self._seal(key, value), expire) for key, value, expire in items])

    def update_many(self, keys: Sequence[str], update: Callable[[str, bytes | None], Change]) -> None:
        """The inner store's ``update_many``: ``update`` sees opened values, and what it sets is sealed."""
        inner_update = getattr(self.inner, "update_many", None)
        if inner_update is None:
            raise TypeError(f"{type(self.inner).__name__} has no update_many")

        def sealed_update(key: str, current: bytes | None) -> Change:
            change = update(key, None if current is None else self.sealer.open(key, current))
            if isinstance(change, tuple):
                return self._seal(key, change[0]), change[1]
            return change

        inner_update(keys, sealed_update)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def clear(self) -> int:
        return self.inner.clear()

    def count(self) -> int:
        return self.inner.count()

    def size_bytes(self) -> int:
        return self.inner.size_bytes()

    def sizes(self) -> Iterator[tuple[str, int]]:
        overhead = self._overhead
        return iter([(key, max(0, size - overhead)) for key, size in self.inner.sizes()])

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return f"SealedStore({self.inner!r}, {self.sealer!r})"
