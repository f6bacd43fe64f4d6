"""Which files a tool checks when run bare at the project root, and what decides that.

A dimension reports on exactly the files its tool would check (``ruff check .``,
``ruff format --check .``, ``bandit -r .``), not on every file memo discovered: a file
the tool skips is absent from the dimension's results, never ``passed``. Asking the tool
costs a process (and a walk of the tree), so the answer is kept with its *witnesses*:
the files and directories whose stat signatures decide it (configs, ignore files, the
listings of the directories walked). While every witness has the signature it had when
the set was derived, the set stands; a witness that changed within the racy window of
being read (``memo.hashing.RACY_WINDOW_NS``) makes the set untrusted, so it is derived
again next time rather than vouched for by a signature that may not have moved.

A witness is ``(path, signature)``: a ``StatSignature`` for an existing file or
directory (a directory's changes when an entry is added, removed or renamed), or a
kind (``"-"`` absent, ``"o"`` neither file nor directory; ``"d"``/``"f"`` where only
the kind decides, as for bandit's exclusions) for a path whose coming into existence
matters.
``FileSet.still_holds`` stats each of them and nothing else: it is what a one-pass warm
run stats to know the set is unchanged.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import stat
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from memo.hashing import RACY_WINDOW_NS, StatSignature, stat_signature

ABSENT = "-"
OTHER = "o"

Witness = tuple[str, StatSignature | str]
"""``(path, stat signature)``, or ``(path, "-")`` for a path that does not exist."""


def _clock() -> int:
    return time.time_ns()


def observe(path: str) -> tuple[Witness, bool]:
    """The witness ``path`` gives now, and whether it may vouch later (it is not racy)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return (path, ABSENT), True
    except OSError:
        return (path, OTHER if os.path.lexists(path) else ABSENT), True
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        return (path, OTHER), True
    return (path, stat_signature(info)), _clock() - max(info.st_mtime_ns, info.st_ctime_ns) > RACY_WINDOW_NS


def kind(path: str) -> str:
    """``"d"`` directory, ``"f"`` regular file, ``"-"`` absent, ``"o"`` anything else."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return ABSENT
    except OSError:
        return OTHER if os.path.lexists(path) else ABSENT
    if stat.S_ISDIR(mode):
        return "d"
    return "f" if stat.S_ISREG(mode) else OTHER


def holds(witness: Witness) -> bool:
    """Whether the path still gives this witness (its signature, or its kind)."""
    path, expected = witness
    if isinstance(expected, str):
        return kind(path) == expected
    current, _ = observe(path)
    return current[1] == expected


@dataclass(frozen=True, slots=True)
class FileSet:
    """The files a tool checks at the project root, and the witnesses that decide which.

    ``files`` are absolute, normalised paths. ``trusted`` is False when a witness was
    changing while it was read: the set is right for now but must not be reused on the
    strength of its witnesses alone.
    """

    files: frozenset[str]
    witnesses: tuple[Witness, ...]
    trusted: bool = True

    def __contains__(self, path: object) -> bool:
        return isinstance(path, (str, os.PathLike)) and os.path.normpath(os.fspath(path)) in self.files

    def still_holds(self) -> bool:
        """True while every witness has its recorded signature (one ``stat`` each)."""
        return all(holds(witness) for witness in self.witnesses)

    def with_files(self, files: Iterable[str]) -> FileSet:
        """These witnesses deciding other files (a rule's verdict on paths already absolute and normalised)."""
        return FileSet(frozenset(files), self.witnesses, self.trusted)


_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class Derived(Generic[_V]):
    """A value read from files (a tool's include/exclude rule), kept with the witnesses that decide it."""

    value: _V
    basis: FileSet

    @property
    def trusted(self) -> bool:
        return self.basis.trusted

    def still_holds(self) -> bool:
        return self.basis.still_holds()


class Witnessing:
    """Collects witnesses while a file set is derived; ``trusted`` turns False at the first racy one."""

    def __init__(self) -> None:
        self._seen: dict[str, StatSignature | str] = {}
        self.trusted = True

    def add(self, path: str) -> StatSignature | str:
        """Observe ``path`` (once) and return what it gave."""
        path = os.path.normpath(os.path.abspath(path))
        found = self._seen.get(path)
        if found is None:
            (_, found), steady = observe(path)
            self._seen[path] = found
            self.trusted = self.trusted and steady
        return found

    def add_kind(self, path: str) -> str:
        """Observe only what ``path`` is (directory, file, absent): its contents do not matter."""
        path = os.path.normpath(os.path.abspath(path))
        found = kind(path)
        # A signature seen already says more than the kind: keep it.
        self._seen.setdefault(path, found)
        return found

    def add_all(self, paths: Iterable[str]) -> None:
        for path in paths:
            self.add(path)

    def file_set(self, files: Iterable[str]) -> FileSet:
        return FileSet(
            frozenset(os.path.normpath(path) for path in files), tuple(sorted(self._seen.items())), self.trusted
        )


class _Witnessed(Protocol):
    @property
    def trusted(self) -> bool: ...

    def still_holds(self) -> bool: ...


_T = TypeVar("_T", bound=_Witnessed)

_remembered: dict[Hashable, _Witnessed] = {}
_this_run: contextvars.ContextVar[dict[Hashable, _Witnessed] | None] = contextvars.ContextVar(
    "memo_fileset_run", default=None
)


@contextlib.contextmanager
def one_run() -> Iterator[None]:
    """Within this block a set derived once is shared, trusted or not (lint and format ask ruff once)."""
    token = _this_run.set({})
    try:
        yield
    finally:
        _this_run.reset(token)


def remembered(key: Hashable, derive: Callable[[], _T]) -> _T:
    """The set remembered under ``key`` while its witnesses hold, else ``derive()`` (kept if trusted).

    In-process only: across processes the set is derived again (the one-pass warm run's
    manifest stores it with its witnesses).
    """
    run = _this_run.get()
    found = run.get(key) if run is not None else None
    if found is None:
        found = _remembered.get(key)
        if found is not None and not found.still_holds():
            _remembered.pop(key, None)
            found = None
    if found is None:
        found = derive()
        if found.trusted:
            _remembered[key] = found
    if run is not None:
        run[key] = found
    return found  # type: ignore[return-value]  # stored by this function under this key


def forget() -> None:
    """Drop every remembered set (tests, and callers that know the tree changed)."""
    _remembered.clear()
