"""Witnesses: the files and directories whose state stands for what a run's results depend on.

A run's manifest (``memo.manifest``) may answer the next run without planning a single
key only if everything the results depend on is observed again, cheaply. Three kinds of
witness cover it:

- ``file``: a file's content (its digest), or that it is absent, or a directory there.
  Config files (a ruff config and its ``extend`` chain, ``.bandit``), ``.gitignore``
  files, a validator's source.
- ``names``: the kinds (file, directory, other, absent) of a few names in a directory.
  "Is there an ``__init__.py`` here", "does ``src/zzz_probe.py`` exist": a name created
  or removed is seen, while the directory's other changes (``/tmp`` is never still) are not.
- ``listing``: every name in a directory with its kind. The directories a run's discovery
  walked: a file added, removed or renamed changes its directory's listing.
- ``tracked``: which files git tracks (``git ls-files --cached``), under the signature of
  its index. A checkout, a commit or ``git add`` rewrites the index; what discovery
  takes from it, which paths are tracked, changes far less often.

Each is checked through a stat signature first (one ``stat``), and only when that moved,
by observing the value again: a ``touch`` or a rewrite with the same bytes is no change.
A signature is trusted only when what it belongs to last changed before the run started,
less ``RACY_WINDOW_NS`` (git's racy-timestamp rule, as ``memo.hashing.HashMemo`` applies it);
otherwise the value is observed again every time.

While a run records (``recording()``), validators report what they observe: the built-in
ruff context calls ``name``/``file`` as it reads the file system, and the engine asks each
validator for its declared ``cache_witnesses()`` after each check (``declared``). A
validator with a ``cache_context()`` and no ``cache_witnesses()`` cannot be vouched for:
its checks are planned on every run (``undeclared``).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from memo.hashing import RACY_WINDOW_NS, StatSignature, hash_bytes, hash_file, stat_signature

Kind = Literal["file", "names", "listing", "tracked"]

ABSENT = "-"
"""The value (or a name's kind) of something that does not exist."""
CHANGED = "!"
"""A value no observation ever has: what was recorded could not be vouched for."""


def path_kind(path: str) -> str:
    """``f`` regular file, ``d`` directory, ``o`` anything else, ``-`` nothing (symlinks followed)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return ABSENT
    except OSError:
        return "o" if os.path.lexists(path) else ABSENT
    if stat.S_ISDIR(mode):
        return "d"
    return "f" if stat.S_ISREG(mode) else "o"


def _listing_value(path: str) -> str:
    try:
        with os.scandir(path) as scan:
            entries = sorted(f"{entry.name}\0{_entry_kind(entry)}" for entry in scan)
    except FileNotFoundError:
        return ABSENT
    except OSError:
        return CHANGED
    return hash_bytes("\n".join(entries).encode("utf-8", "surrogateescape"))


def _entry_kind(entry: os.DirEntry[str]) -> str:
    try:
        if entry.is_symlink():
            return "l"
        if entry.is_dir(follow_symlinks=False):
            return "d"
        return "f" if entry.is_file(follow_symlinks=False) else "o"
    except OSError:
        return "o"


def _file_value(path: str) -> str:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return ABSENT
    except OSError:
        return CHANGED
    if stat.S_ISDIR(info.st_mode):
        return "d"
    if not stat.S_ISREG(info.st_mode):
        return "o"
    try:
        return hash_file(path)
    except OSError:
        return CHANGED


def _names_value(path: str, names: Iterable[str]) -> str:
    return "/".join(f"{name}={path_kind(os.path.join(path, name))}" for name in names)


def _tracked_value(index: str, work_tree: str) -> str:
    """The digest of the paths git tracks in ``work_tree`` (whose index is ``index``)."""
    import subprocess  # nosec B404 - only git ls-files, with a fixed argv and no shell

    if not os.path.exists(index):
        return ABSENT
    try:
        done = subprocess.run(  # nosec B603 B607 - fixed argv, no shell
            ["git", "ls-files", "-z", "--cached"], cwd=work_tree, capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return CHANGED
    return hash_bytes(done.stdout) if done.returncode == 0 else CHANGED


def value_of(kind: Kind, path: str, names: tuple[str, ...] = ()) -> str:
    """What ``path`` holds now, as the witness of ``kind`` observes it.

    For ``tracked``, ``path`` is git's index and ``names`` holds the work tree.
    """
    if kind == "file":
        return _file_value(path)
    if kind == "names":
        return _names_value(path, names)
    if kind == "tracked":
        return _tracked_value(path, names[0]) if names else CHANGED
    return _listing_value(path)


def _target(kind: Kind, path: str) -> os.stat_result | None:
    """The stat whose signature vouches for the witness: the path's own, else its closest existing ancestor's.

    Something created where nothing was changes that ancestor's listing, so its signature
    stands for the absence.
    """
    current = path
    while True:
        try:
            return os.stat(current)
        except OSError:
            parent = os.path.dirname(current)
            if parent == current:
                return None
            current = parent


@dataclass(slots=True)
class Witness:
    """One witness as a manifest keeps it: what was observed, under which signature, trusted or not."""

    kind: Kind
    path: str
    names: tuple[str, ...]
    signature: StatSignature | None
    trusted: bool
    """Whether ``signature`` alone vouches for ``value`` (it changed before the recording run started)."""
    value: str

    def holds(self) -> tuple[bool, str | None, StatSignature | None]:
        """``(unchanged, value now or None if not observed, signature now)``: one stat when nothing moved."""
        if self.value == CHANGED:  # observed now all the same: what the next recording compares against
            target = _target(self.kind, self.path)
            return False, value_of(self.kind, self.path, self.names), None if target is None else stat_signature(target)
        if self.kind == "file" and self.value == ABSENT:
            try:
                info = os.stat(self.path)
            except FileNotFoundError:
                return True, ABSENT, None
            except OSError:
                return False, CHANGED, None
            return False, value_of(self.kind, self.path), stat_signature(info)
        target = _target(self.kind, self.path)
        now = None if target is None else stat_signature(target)
        if self.trusted and now is not None and now == self.signature:
            return True, None, now
        value = value_of(self.kind, self.path, self.names)
        return value == self.value, value, now

    def to_json(self) -> list[Any]:
        return [self.kind, self.path, list(self.names), self.signature, self.trusted, self.value]

    @classmethod
    def from_json(cls, data: Any) -> Witness:
        kind, path, names, signature, trusted, value = data
        if kind not in ("file", "names", "listing", "tracked"):
            raise ValueError(f"unknown witness kind {kind!r}")
        return cls(
            kind,
            str(path),
            tuple(str(name) for name in names),
            None if signature is None else _signature(signature),
            bool(trusted),
            str(value),
        )


def _signature(data: Any) -> StatSignature:
    size, mtime, ctime, inode, device = (int(part) for part in data)
    return (size, mtime, ctime, inode, device)


def settled(info: os.stat_result, started_ns: int) -> bool:
    """Whether what ``info`` describes changed before a run that started at ``started_ns``, less the racy window."""
    return max(info.st_mtime_ns, info.st_ctime_ns) < started_ns - RACY_WINDOW_NS


def observe(
    kind: Kind, path: str, names: tuple[str, ...], started_ns: int, before: str | None, known: Witness | None = None
) -> Witness:
    """The witness as it stands at the end of a run that started at ``started_ns``.

    Trusted when its target last changed before the run started (less the racy window):
    then the checks saw what is observed now. Else the value stands only if it is the one
    observed when the run started (``before``), and is observed again next time; and
    with neither, it is recorded as ``CHANGED``, so the next run re-checks everything.
    ``known``: the same witness as the previous manifest holds it, kept if nothing moved.
    """
    info = _target(kind, path)
    signature = None if info is None else stat_signature(info)
    if known is not None and known.trusted and signature is not None and signature == known.signature:
        return known  # ``known`` was recorded under this very signature, trusted: nothing moved
    value = value_of(kind, path, names)
    if info is not None and settled(info, started_ns) and value != CHANGED:
        return Witness(kind, path, names, signature, True, value)
    if before is not None and before == value and value != CHANGED:
        return Witness(kind, path, names, signature, False, value)
    return Witness(kind, path, names, None, False, CHANGED)


# -- recording ------------------------------------------------------------------------------


@dataclass
class Observed:
    """What a recording run saw validators depend on, beyond each file's own bytes."""

    files: dict[str, str | None] = field(default_factory=dict)
    """``{path: its value when first seen, or None}``: what the run stood on, as it stood then."""
    names: dict[str, dict[str, str | None]] = field(default_factory=dict)
    """``{directory: {name: the kind seen, or None}}``: what a context saw is what it computed from."""
    listings: dict[str, str | None] = field(default_factory=dict)
    tracked: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """``{git index: (work tree, its value or None)}``."""
    undeclared: set[str] = field(default_factory=set)
    """Dimensions whose context no witness vouches for: their checks are planned every run."""
    unvouched: str | None = None
    """Why nothing recorded can be trusted (a context read something no witness covers); None if all is well."""

    def add_path(self, path: str) -> None:
        """A declared witness, as it is now: a directory's listing, or a file's content (absent counts)."""
        path = os.path.abspath(path)
        if path in self.files or path in self.listings:
            return
        if os.path.isdir(path):
            self.listings[path] = value_of("listing", path)
        else:
            self.files[path] = value_of("file", path)

    def add_file(self, path: str, value: str | None = None) -> None:
        if self.files.get(path) is None:
            self.files[path] = value

    def add_listing(self, path: str, value: str | None = None) -> None:
        if self.listings.get(path) is None:
            self.listings[path] = value

    def add_tracked(self, index: str, work_tree: str, value: str | None = None) -> None:
        if self.tracked.get(index, (work_tree, None))[1] is None:
            self.tracked[index] = (work_tree, value)

    def add_name(self, directory: str, name: str, kind: str | None = None) -> None:
        kinds = self.names.get(directory)
        if kinds is None:
            kinds = self.names[directory] = {}
        if kinds.get(name) is None:
            kinds[name] = kind

    def merge(self, other: Observed) -> None:
        """Add what ``other`` saw; where both saw something, the first value seen stands."""
        for path, value in other.files.items():
            self.add_file(path, value)
        for path, value in other.listings.items():
            self.add_listing(path, value)
        for directory, kinds in other.names.items():
            for name, kind in kinds.items():
                self.add_name(directory, name, kind)
        for index, (work_tree, value) in other.tracked.items():
            self.add_tracked(index, work_tree, value)
        self.undeclared |= other.undeclared
        self.unvouched = self.unvouched or other.unvouched

    def witnesses(self) -> Iterator[tuple[Kind, str, tuple[str, ...]]]:
        for path in sorted(self.files):
            yield "file", path, ()
        for path in sorted(self.names):
            yield "names", path, tuple(sorted(self.names[path]))
        for path in sorted(self.listings):
            yield "listing", path, ()
        for path in sorted(self.tracked):
            yield "tracked", path, (self.tracked[path][0],)

    def seen(self) -> dict[str, str]:
        """The values the run's checks saw (or it started with), by ``witness_id``, where known."""
        found: dict[str, str] = {}
        for path, value in self.files.items():
            if value is not None:
                found[witness_id("file", path, ())] = value
        for path, value in self.listings.items():
            if value is not None:
                found[witness_id("listing", path, ())] = value
        for path, (work_tree, value) in self.tracked.items():
            if value is not None:
                found[witness_id("tracked", path, (work_tree,))] = value
        for path, kinds in self.names.items():
            names = tuple(sorted(kinds))
            if all(kinds[name] is not None for name in names):
                found[witness_id("names", path, names)] = "/".join(f"{name}={kinds[name]}" for name in names)
        return found

    def fill(self) -> None:
        """Observe every value not yet seen, now: taken before a run's checks, what its end is compared against."""
        for path, kinds in self.names.items():
            for name in kinds:
                if kinds[name] is None:
                    kinds[name] = path_kind(os.path.join(path, name))
        for path in self.files:
            if self.files[path] is None:
                self.files[path] = value_of("file", path)
        for path in self.listings:
            if self.listings[path] is None:
                self.listings[path] = value_of("listing", path)
        for path, (work_tree, value) in self.tracked.items():
            if value is None:
                self.tracked[path] = (work_tree, value_of("tracked", path, (work_tree,)))


def witness_id(kind: Kind, path: str, names: Iterable[str]) -> str:
    """One witness's identity: its kind, its path, and for ``names`` which names."""
    return "\0".join((kind, path, *names))


_recording: contextvars.ContextVar[Observed | None] = contextvars.ContextVar("memo_witnesses", default=None)


@contextlib.contextmanager
def recording(observed: Observed | None = None) -> Iterator[Observed]:
    """Collect what validators observe while the block runs (asyncio tasks started in it included)."""
    sink = Observed() if observed is None else observed
    token = _recording.set(sink)
    try:
        yield sink
    finally:
        _recording.reset(token)


def active() -> bool:
    return _recording.get() is not None


def name(directory: str, entry: str, kind: str | None = None) -> None:
    """A context looked at what ``directory/entry`` is (``kind``: what it saw, as ``path_kind`` says)."""
    sink = _recording.get()
    if sink is not None:
        sink.add_name(directory, entry, kind)


def file(path: str) -> None:
    """A context read the file ``path`` (or found it missing)."""
    sink = _recording.get()
    if sink is not None and path not in sink.files:
        sink.files[path] = value_of("file", path)


def saw(seen: Iterable[tuple[str, str | None, str | None]]) -> None:
    """Many ``name`` and ``file`` observations at once: ``(directory, name, kind)`` or ``(file, None, None)``."""
    sink = _recording.get()
    if sink is None:
        return
    names, files = sink.names, sink.files
    for path, entry, kind in seen:
        if entry is None:
            if path not in files:
                files[path] = value_of("file", path)
            continue
        kinds = names.get(path)
        if kinds is None:
            kinds = names[path] = {}
        if kinds.get(entry) is None:
            kinds[entry] = kind


def unvouched(reason: str) -> None:
    """A context read something no witness can stand for: nothing of this run may be replayed."""
    sink = _recording.get()
    if sink is not None and sink.unvouched is None:
        sink.unvouched = reason


def declared(validator: Any) -> None:
    """After a check: the validator's declared witnesses, or its dimension as undeclared.

    A validator without ``cache_context()`` depends on its file, config and code only,
    which the manifest covers itself. One with a context must say what covers it
    (``cache_witnesses()``); one that does not is planned per check on every run.
    """
    sink = _recording.get()
    if sink is None:
        return
    context = getattr(validator, "cache_context", None)
    if context is None:
        return
    declare = getattr(validator, "cache_witnesses", None)
    found = None if declare is None else declare()
    if found is None:
        sink.undeclared.add(str(getattr(validator, "dimension", "")))
        return
    for path in found:
        sink.add_path(os.fspath(path))
