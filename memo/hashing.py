"""Content hashing: one pure function from a file's bytes to a digest, plus a per-run memo.

The digest names its algorithm (``xxh3_128:...`` or ``blake2b:...``), so entries written
with and without the optional ``xxhash`` package never collide.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from memo.recent import Recent

_xxhash: Any
try:
    import xxhash as _xxhash
except ImportError:  # pragma: no cover - exercised by the fallback test
    _xxhash = None

CHUNK_SIZE = 1 << 20
"""Files are read in 1 MiB chunks, so hashing a huge file uses bounded memory."""

RACY_WINDOW_NS = 2_000_000_000
"""A file changed less than this long ago is re-read rather than trusted by its stat.

Like git's "racily clean" rule: a write within one mtime tick of our read leaves the
stat signature unchanged, so a recent file's signature proves nothing.
"""


def _blake2b() -> Any:
    return hashlib.blake2b(digest_size=16)


def _md5() -> Any:  # pragma: no cover - only where blake2b is missing
    return hashlib.md5(usedforsecurity=False)


def _pick_hasher() -> tuple[str, Callable[[], Any]]:
    if _xxhash is not None:
        return "xxh3_128", _xxhash.xxh3_128
    if "blake2b" in hashlib.algorithms_available:
        return "blake2b", _blake2b
    return "md5", _md5  # pragma: no cover


HASH_ALGORITHM, _new_hasher = _pick_hasher()


def hash_bytes(data: bytes) -> str:
    """Digest of ``data``, prefixed with the algorithm's name."""
    hasher = _new_hasher()
    hasher.update(data)
    return f"{HASH_ALGORITHM}:{hasher.hexdigest()}"


_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_MIN_READ = 1 << 16


def hash_file(path: str | os.PathLike[str]) -> str:
    """Digest of a regular file's content, streamed in chunks.

    Raises ``OSError`` for anything that is not a regular file (a FIFO would block
    forever, a device has no end), or that cannot be read.
    """
    return _hash_open(path)[0]


def _hash_open(path: str | os.PathLike[str]) -> tuple[str, os.stat_result, os.stat_result]:
    """The file's digest with its ``fstat`` before and after the read, from one open.

    One descriptor serves the type check, the read and both signatures, so hashing costs
    the same system calls as a bare read loop plus two ``fstat``s.
    """
    # Opening a FIFO blocks until a writer appears; O_NONBLOCK makes the open return, so
    # a FIFO (or a file swapped for one) is refused below instead of hanging.
    fd = os.open(path, os.O_RDONLY | _O_NONBLOCK)
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise IsADirectoryError(f"not a regular file: {os.fspath(path)}")
        # Reads sized to the file rather than a fixed 1 MiB: each read allocates what it
        # asks for, and a 1 MiB allocation per small file halved hashing throughput.
        size = min(CHUNK_SIZE, max(before.st_size + 1, _MIN_READ))
        hasher = _new_hasher()
        while chunk := os.read(fd, size):
            hasher.update(chunk)
        after = os.fstat(fd)
    finally:
        os.close(fd)
    return f"{HASH_ALGORITHM}:{hasher.hexdigest()}", before, after


StatSignature = tuple[int, int, int, int, int]
"""(size, mtime_ns, ctime_ns, inode, device): what must hold still for a digest to stand."""


def stat_signature(info: os.stat_result) -> StatSignature:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


@dataclass(frozen=True, slots=True)
class FileStamp:
    """A file's digest together with the stat signature it was taken under."""

    digest: str
    signature: StatSignature
    steady: bool
    """False when the file changed while it was being read: the digest may be of neither version."""
    trusted: bool
    """True when the signature alone may vouch for the digest later (steady and not racy)."""


class HashMemo:
    """Remembers digests within a run so each file is read once, not once per dimension.

    A remembered digest is reused only while the file's stat signature is unchanged and
    the file was last changed well before it was read (see ``RACY_WINDOW_NS``). The memo
    is a window of the most recent files (``memo.recent.Recent``: the last ``max_entries``
    to twice that): a run asks for a file's stamp once per dimension, close together, so
    the window serves it without holding every file of a large tree to the end of the run.
    """

    def __init__(self, max_entries: int = 16_384, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._entries: Recent[str, FileStamp] = Recent(max_entries)
        self._clock_ns = clock_ns

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def stamp(self, path: str) -> FileStamp:
        """The file's current stamp, read from disk unless a trusted one still matches."""
        info = os.stat(path)
        signature = stat_signature(info)
        known = self._entries.get(path)
        if known is not None and known.trusted and known.signature == signature:
            return known
        return self._read(path, info)

    def unchanged_since(self, path: str, stamp: FileStamp) -> bool:
        """Whether the file still holds the bytes ``stamp`` was taken from, untouched since.

        Any change to the stat signature answers no. With it unchanged, a trusted stamp
        answers yes at once; a racy one is read again and the digests compared.
        """
        try:
            info = os.stat(path)
            if stat_signature(info) != stamp.signature:
                # Written since, even if back to the same bytes: what the validator read in
                # between may have been another version (A, then B, then A again).
                return False
            if stamp.trusted:
                return True
            again = self._read(path, info)
        except OSError:
            return False
        return again.steady and again.digest == stamp.digest

    def _read(self, path: str, seen: os.stat_result) -> FileStamp:
        if not stat.S_ISREG(seen.st_mode):
            raise IsADirectoryError(f"not a regular file: {path}")
        digest, before, after = _hash_open(path)
        signature = stat_signature(after)
        changed_at = max(after.st_mtime_ns, after.st_ctime_ns)
        steady = stat_signature(before) == signature
        trusted = steady and self._clock_ns() - changed_at > RACY_WINDOW_NS
        stamp = FileStamp(digest=digest, signature=signature, steady=steady, trusted=trusted)
        if trusted:
            self._entries[path] = stamp
        else:
            self._entries.pop(path, None)
        return stamp
