"""What a validator's result depends on beyond the file itself: the interpreter, config files.

Two pieces, shared by the built-in validators:

- ``interpreter()``: the Python implementation and version that parses the files. bandit,
  radon and ``compile`` all parse with the running interpreter, and the grammar changes
  between versions (``type Alias = int`` parses under 3.12, not under 3.11).
- ``ConfigMemo``: a value derived from a few config files (bandit's ``.bandit`` and
  ``pyproject.toml``, ...), remembered per project directory and derived again as soon as
  any of those files' full stat signature changes. Like ``memo.hashing.HashMemo``, a
  signature is trusted only once the file is older than the racy window: a same-size
  edit within one mtime tick (or with its mtime restored, as ``cp -p`` and ``touch -r``
  do) still changes ctime, and a recent file is read again every time.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import sys
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from memo import planning_scope
from memo.hashing import RACY_WINDOW_NS, StatSignature, stat_signature

T = TypeVar("T")

Signature = StatSignature | None
"""A file's stat signature, or None when it does not exist (its creation is a change too)."""


@functools.cache
def interpreter() -> str:
    """``"cpython 3.12.4"``: the implementation and full version of the running Python."""
    return f"{sys.implementation.name} {platform.python_version()}"


@functools.cache
def _entry_points() -> dict[str, importlib.metadata.EntryPoints]:
    every = importlib.metadata.entry_points()
    return {group: every.select(group=group) for group in every.groups}


def entry_points(group: str) -> importlib.metadata.EntryPoints:
    """The installed entry points of ``group``, from one scan of the installed distributions per process.

    ``importlib.metadata.entry_points(group=...)`` reads every distribution's metadata
    on each call; memo asks for three groups (its validators, bandit's plugins and
    blacklists) on every run.
    """
    return _entry_points().get(group) or importlib.metadata.EntryPoints(())


def observed(key: Hashable, observe: Callable[[], T]) -> T:
    """``observe()``, once per planning pass (``memo.planning_scope``) when one is in progress.

    Outside a pass (a single call, or the check after a tool ran that nothing changed)
    it observes every time.
    """
    scope: dict[Hashable, Any] | None = planning_scope()
    if scope is None:
        return observe()
    if key in scope:
        value: T = scope[key]
        return value
    value = scope[key] = observe()
    return value


def signature_of(path: str) -> Signature:
    """The path's full stat signature, or None if there is nothing there."""
    try:
        return stat_signature(os.stat(path))
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class Derived(Generic[T]):
    """A value with the files it was derived from, each paired with its signature at the time."""

    value: T
    files: tuple[tuple[str, Signature], ...]
    trusted: bool


class ConfigMemo(Generic[T]):
    """``derive(directory)`` per directory, kept while the files it read hold still.

    ``derive`` returns the value and the paths it read (or looked for: a file that does
    not exist yet counts, so creating it is seen). The signatures are taken before the
    read, so a file changed during the read only makes the next lookup derive again.
    """

    def __init__(
        self,
        derive: Callable[[str], tuple[T, Sequence[str]]],
        watched: Callable[[str], Sequence[str]],
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._derive = derive
        self._watched = watched
        self._clock_ns = clock_ns
        self._entries: dict[str, Derived[T]] = {}

    def clear(self) -> None:
        self._entries.clear()

    def get(self, directory: str) -> T:
        """The value for ``directory``, derived again unless every watched file is unchanged."""
        known = self._entries.get(directory)
        if known is not None and known.trusted and all(signature_of(path) == sig for path, sig in known.files):
            return known.value
        return self._refresh(directory)

    def _refresh(self, directory: str) -> T:
        before = {path: signature_of(path) for path in self._watched(directory)}
        value, read = self._derive(directory)
        for path in read:
            before.setdefault(path, signature_of(path))
        files = tuple(before.items())
        horizon = self._clock_ns() - RACY_WINDOW_NS
        trusted = all(sig is None or (sig[1] < horizon and sig[2] < horizon) for _, sig in files)
        self._entries[directory] = Derived(value, files, trusted)
        return value
