"""A map that remembers the most recently set keys: the per-run memos' window of recent files.

A run asks for each file's digest, key and relative path once per dimension, close
together, so a memo needs the recent files only; holding every file of a large tree to
the end of the run is what made a warm run's memory grow with the tree. Two generations
keep it O(1): keys are set in the young one, and when that is full it becomes the old one
and the previous old one is dropped whole. (Evicting the oldest key of one dict one at a
time is not O(1) in CPython: ``next(iter(d))`` steps over every slot deleted before it.)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar, overload

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")

_MISSING: object = object()


class Recent(Generic[K, V]):
    """The last ``size`` to ``2 * size`` keys set, with their values."""

    __slots__ = ("_old", "_size", "_young")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._size = size
        self._young: dict[K, V] = {}
        self._old: dict[K, V] = {}

    @overload
    def get(self, key: K) -> V | None: ...

    @overload
    def get(self, key: K, default: D) -> V | D: ...

    def get(self, key: K, default: object = None) -> object:
        value = self._young.get(key, _MISSING)
        if value is _MISSING:
            return self._old.get(key, default)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        young = self._young
        if key not in young:
            self._old.pop(key, None)
            if len(young) >= self._size:
                self._old, self._young = young, {}
                young = self._young
        young[key] = value

    def pop(self, key: K, default: V | None = None) -> V | None:
        found = self._young.pop(key, default)
        older = self._old.pop(key, default)
        return found if found is not default else older

    def __contains__(self, key: object) -> bool:
        return key in self._young or key in self._old

    def __len__(self) -> int:
        return len(self._young) + len(self._old)

    def __iter__(self) -> Iterator[K]:
        """Oldest generation first."""
        yield from self._old
        yield from self._young

    def clear(self) -> None:
        self._young.clear()
        self._old.clear()
