"""The manifest of a run: what the last ``memo run`` of one configuration saw and reported.

A warm run over an unchanged tree used to plan a key, a context, a lookup and a decode
for every check. A manifest lets it answer in one pass instead: it holds, for one project
root and one run configuration (see ``memo.cli.fastpath`` for what that key covers),

- every checked file with its stat signature, whether that signature may vouch for the
  file alone (git's racy rule: it changed before the recording run started, less
  ``RACY_WINDOW_NS``), its content digest, and which of the run's lanes (one per
  validator, in the engine's order) checked it;
- every result that says more than "passed" (findings, errors), by file and lane; a
  clean result is implied, so a large tree's manifest is mostly paths and signatures;
- every witness (``memo.witness``): the config files, directories, names and sources
  the results and the choice of files depend on.

``verify()`` stats every file and witness. All unchanged: the stored report is the
answer, without planning a key. Files changed, witnesses not: only those files' checks
run. A witness changed: every check runs, as without a manifest.

A manifest is an entry like any other and is trusted like one: sealed (keyed BLAKE2b) under the
machine's local key, bound to its run key, written atomically (a temporary file renamed
over the old one, relative to the held-open, checked cache directory), so a missing,
truncated, corrupt, planted or foreign manifest is simply a miss.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from memo.filetable import FileTable
from memo.hashing import hash_file
from memo.witness import CHANGED, Witness, witness_id

SCHEMA = 2
"""Bumped whenever the manifest's layout or meaning changes: an older one is a miss."""
MAGIC = b"memo-manifest\x00"
"""How a packed manifest (schema 2 on) begins; the JSON of schema 1 does not."""
DIRECTORY = "manifests"
"""The cache directory's subdirectory holding one file per run key."""
SUFFIX = ".manifest"
MAX_MANIFESTS = 16
"""Manifests kept per cache directory (the least recently written go first)."""
MAX_BYTES = 1 << 30
STALE_TEMPORARY_S = 3600
"""A temporary file older than this was left by a killed writer: removed by the next write."""

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_DIR_FLAGS = os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | _CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC


class Sealer(Protocol):
    """Authenticates a value for a key: ``memo.localauth``'s local sealer, or a ``memo.signing.Signer``."""

    def seal(self, key: str, value: bytes) -> bytes: ...

    def open(self, key: str, sealed: bytes) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class Lane:
    """One validator of the run, in the engine's check order."""

    dimension: str
    per_file: bool
    replayed: bool
    """False: its checks run on every run (a project-level check, a context no witness covers)."""


@dataclass
class Manifest:
    root: str
    dimension_names: tuple[str, ...]
    lanes: tuple[Lane, ...]
    files: FileTable
    results: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    """``{file index: {lane index: result as ValidationResult.to_dict()}}``, non-clean results only."""
    witnesses: list[Witness] = field(default_factory=list)
    unvouched: str | None = None
    """Why no result of this manifest may be replayed (None: they may)."""
    served: str = "checks"
    """How the run that wrote it was answered: ``manifest``, ``partly`` or ``checks``."""

    def encode(self) -> bytes:
        """``MAGIC``, the header's length, the header (JSON), then the file table's columns.

        The columns are in this machine's byte order: a manifest is sealed by the
        machine's own key and never read elsewhere.
        """
        sections = self.files.sections()
        header = {
            "schema": SCHEMA,
            "byteorder": sys.byteorder,
            "root": self.root,
            "dimension_names": list(self.dimension_names),
            "lanes": [[lane.dimension, lane.per_file, lane.replayed] for lane in self.lanes],
            "count": len(self.files),
            "width": self.files.width,
            "sections": [len(section) for section in sections],
            "results": {str(i): {str(lane): r for lane, r in rows.items()} for i, rows in self.results.items()},
            "witnesses": [w.to_json() for w in self.witnesses],
            "unvouched": self.unvouched,
            "served": self.served,
        }
        head = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogateescape")
        return b"".join([MAGIC, len(head).to_bytes(8, "little"), head, *sections])

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        """The manifest in ``data``; ``ValueError`` (or ``TypeError``/``KeyError``) for anything else."""
        document, sections = _split(data)
        lanes = tuple(Lane(str(d), bool(p), bool(r)) for d, p, r in document["lanes"])
        # Sealed by this machine's key, so its types are ours; only the shapes are checked.
        files = FileTable.from_sections(int(document["count"]), int(document["width"]), sections)
        if files.width < (len(lanes) + 7) // 8:
            raise ValueError("lane masks narrower than the lanes")
        results = {
            int(i): {int(lane): dict(result) for lane, result in rows.items()}
            for i, rows in document["results"].items()
        }
        if any(not 0 <= i < len(files) or any(not 0 <= n < len(lanes) for n in rows) for i, rows in results.items()):
            raise ValueError("a result of no file or lane")
        unvouched = document["unvouched"]
        return cls(
            root=str(document["root"]),
            dimension_names=tuple(str(name) for name in document["dimension_names"]),
            lanes=lanes,
            files=files,
            results=results,
            witnesses=[Witness.from_json(w) for w in document["witnesses"]],
            unvouched=None if unvouched is None else str(unvouched),
            served=str(document.get("served", "checks")),
        )

    @property
    def replayable(self) -> bool:
        """Whether every lane's results may be served from here."""
        return self.unvouched is None and all(lane.replayed for lane in self.lanes)

    def verify(self) -> Verification:
        """Stat every witness and file once: what changed, and what was observed where a signature moved."""
        found = Verification()
        for witness in self.witnesses:
            unchanged, value, _ = witness.holds()
            identity = witness_id(witness.kind, witness.path, witness.names)
            if unchanged:
                found.values[identity] = witness.value
                continue
            if value is not None:
                found.values[identity] = value
            if found.witnesses_hold:
                found.witnesses_hold = False
                found.changed_witness = witness.path
        if not found.witnesses_hold:
            return found  # every check runs: the files need not be looked at
        files = self.files
        moved = files.moved()
        if not moved:
            return found
        digests = files.digests()
        for index in moved:
            if digests[index] == CHANGED:  # never settled: its checks run again
                found.changed.append(index)
                continue
            path = files.paths[index]
            try:
                digest = hash_file(path)
            except OSError:
                found.changed.append(index)
                continue
            found.digests[index] = digest
            if digest != digests[index]:
                found.changed.append(index)
            else:
                found.resettled = True
        return found


@dataclass
class Verification:
    """What ``Manifest.verify`` found."""

    witnesses_hold: bool = True
    changed_witness: str | None = None
    """The first witness found changed, for ``memo explain`` and the trace."""
    changed: list[int] = field(default_factory=list)
    """Indices of files whose checks must run again (content changed, or never settled)."""
    values: dict[str, str] = field(default_factory=dict)
    """Every witness's value as this run started, by ``witness_id`` (what the recording compares against)."""
    digests: dict[int, str] = field(default_factory=dict)
    """File digests observed where a signature moved, by file index."""
    resettled: bool = False
    """Some signature moved while the bytes did not: rewriting the manifest trusts the new one."""

    @property
    def unchanged(self) -> bool:
        return self.witnesses_hold and not self.changed


# -- storage --------------------------------------------------------------------------------


def _seal_key(key: str) -> str:
    """What a manifest's tag binds it to: its own run key, never a cache entry's."""
    return f"memo-manifest/{SCHEMA}/{key}"


def _valid_key(key: str) -> bool:
    return len(key) == 64 and all(c in "0123456789abcdef" for c in key)


class ManifestStore:
    """One sealed file per run key under ``<cache dir>/manifests``; every failure is a miss."""

    def __init__(self, cache_dir: str | os.PathLike[str], sealer: Sealer) -> None:
        self.cache_dir = os.fspath(cache_dir)
        self._sealer = sealer

    @contextlib.contextmanager
    def _directory(self, *, create: bool) -> Iterator[int]:
        from memo import cachedir  # the cache directory's own checks (StrictModes, held open)

        root = cachedir.open_directory(self.cache_dir, create=create)
        try:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(DIRECTORY, 0o700, dir_fd=root)
            fd = os.open(DIRECTORY, _DIR_FLAGS, dir_fd=root)
        finally:
            os.close(root)
        try:
            info = os.fstat(fd)
            if info.st_uid != os.geteuid() or info.st_mode & 0o022:
                raise OSError(f"{DIRECTORY}: not this user's own directory")
            yield fd
        finally:
            os.close(fd)

    def load(self, key: str) -> Manifest | None:
        """The manifest stored under ``key``, if one is there, authentic and readable; else None."""
        if not _valid_key(key):
            return None
        try:
            with self._directory(create=False) as directory:
                sealed = _read(directory, key + SUFFIX)
        except Exception:  # missing, unsafe, unreadable: a miss, never a failure
            return None
        data = self._sealer.open(_seal_key(key), sealed)
        if data is None:
            return None
        try:
            return Manifest.decode(data)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def save(self, key: str, manifest: Manifest) -> bool:
        """Store ``manifest`` under ``key``, atomically; whether it was stored."""
        if not _valid_key(key):
            return False
        sealed = self._sealer.seal(_seal_key(key), manifest.encode())
        try:
            with self._directory(create=True) as directory:
                temporary = f".{key}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
                fd = os.open(temporary, _CREATE_FLAGS, 0o600, dir_fd=directory)
                try:
                    try:
                        view = memoryview(sealed)
                        while view:
                            view = view[os.write(fd, view) :]
                    finally:
                        os.close(fd)
                    os.replace(temporary, key + SUFFIX, src_dir_fd=directory, dst_dir_fd=directory)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(temporary, dir_fd=directory)
                    raise
                _prune(directory)
        except Exception:  # a cache that cannot be written loses the entry, nothing else
            return False
        return True

    def run_keys(self) -> list[str]:
        """The run keys with a manifest here (authentic or not)."""
        try:
            with self._directory(create=False) as directory:
                names = os.listdir(directory)
        except Exception:
            return []
        return [name[: -len(SUFFIX)] for name in names if name.endswith(SUFFIX) and _valid_key(name[: -len(SUFFIX)])]

    def clear(self) -> int:
        """Remove every manifest; how many were removed."""
        removed = 0
        try:
            with self._directory(create=False) as directory:
                for name in os.listdir(directory):
                    if name.endswith((SUFFIX, ".tmp")):
                        with contextlib.suppress(OSError):
                            os.unlink(name, dir_fd=directory)
                            removed += name.endswith(SUFFIX)
        except Exception:
            return removed
        return removed


def _read(directory: int, name: str) -> bytes:
    fd = os.open(name, _READ_FLAGS, dir_fd=directory)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            raise OSError(f"{name}: not a regular file of a manifest's size")
        chunks = []
        remaining = info.st_size
        while remaining > 0:
            chunk = os.read(fd, remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _prune(directory: int) -> None:
    """Drop temporary files left by killed writers, and the oldest manifests beyond ``MAX_MANIFESTS``."""
    now = time.time()
    kept: list[tuple[float, str]] = []
    for name in os.listdir(directory):
        try:
            info = os.stat(name, dir_fd=directory, follow_symlinks=False)
        except OSError:
            continue
        if name.endswith(".tmp"):
            if now - info.st_mtime > STALE_TEMPORARY_S:
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=directory)
        elif name.endswith(SUFFIX):
            kept.append((info.st_mtime, name))
    kept.sort(reverse=True)
    for _, name in kept[MAX_MANIFESTS:]:
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=directory)


class _Unsealed:
    """For ``clear_manifests``: removing needs no key."""

    def seal(self, key: str, value: bytes) -> bytes:
        raise NotImplementedError

    def open(self, key: str, sealed: bytes) -> bytes | None:
        return None


def clear_manifests(cache_dir: str | os.PathLike[str]) -> int:
    """Remove every manifest of ``cache_dir`` (``memo cache clear``): how many were removed."""
    return ManifestStore(cache_dir, _Unsealed()).clear()


def _split(data: bytes) -> tuple[dict[str, Any], list[bytes]]:
    """A packed manifest's JSON header and its column sections; ``ValueError`` for any other bytes."""
    if not data.startswith(MAGIC):
        raise ValueError("not a manifest of this schema")  # an older (JSON) manifest among them
    view = memoryview(data)
    at = len(MAGIC) + 8
    length = int.from_bytes(view[len(MAGIC) : at], "little")
    document = json.loads(bytes(view[at : at + length]).decode("utf-8", "surrogateescape"))
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise ValueError("not a manifest of this schema")
    if document["byteorder"] != sys.byteorder:
        raise ValueError("a manifest of another machine")
    at += length
    sections = []
    for size in document["sections"]:
        if type(size) is not int or size < 0:
            raise ValueError("a section of the wrong shape")
        sections.append(bytes(view[at : at + size]))
        at += size
    if at != len(data) or len(sections) != 5:
        raise ValueError("a manifest of the wrong length")
    return document, sections
