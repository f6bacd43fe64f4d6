"""The files of a run manifest (``memo.manifest``), packed as columns: no Python object per file.

A warm run over an unchanged tree of 100k files must cost little more than a ``stat`` of
each; one object per file (made when the manifest is read, then compared field by field)
cost as much as the ``stat`` calls themselves. So the table keeps columns: the paths as
one list (one blob on disk) that every lane of the report shares, the stat signatures in
two ``array``s compared whole with those one ``stat`` loop collects, the digests as one
text split only when a signature moved, and each file's lanes as a few mask bytes. A
``FileEntry`` is made only when one row is asked for (``memo explain``, the recording of
a partly changed tree).
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import overload

from memo.hashing import StatSignature
from memo.witness import CHANGED


@dataclass(slots=True)
class FileEntry:
    """A checked file as the recording run left it (one row of a ``FileTable``, made when asked for)."""

    path: str
    """Exactly as the run's results name it (``file_path``)."""
    signature: StatSignature | None
    trusted: bool
    digest: str
    """Its content digest; ``CHANGED`` when the results stored for it cannot be vouched for."""
    lanes: int
    """Bit ``i`` set: lane ``i`` checked this file."""

    @property
    def settled(self) -> bool:
        return self.digest != CHANGED


_NO_STAMP = (-1, 0, 0)
"""The stamp of a row whose signature may not vouch for it: no ``stat`` has a size of -1."""
_GONE = (-2, 0, 0)
"""What the verifying loop records for a file it cannot stat: equal to no stored stamp."""
_NO_ID = (0, 0)
_BIT_TABLES = [bytes(1 if value & (1 << bit) else 0 for value in range(256)) for bit in range(8)]
"""For each bit of a mask byte: the table mapping a byte to 1 where that bit is set, else 0."""
_BLOCK = 4096
"""Rows compared at once when looking for the ones that moved."""


class FileTable(Sequence[FileEntry]):
    """Every checked file of a manifest, packed: no Python object per file until one is asked for.

    A warm run over a large tree must do little more than ``stat`` each file, so the rows
    are kept as columns: the paths as one list of strings (one blob on disk), the stat
    signatures in two ``array``s (size, mtime, ctime as signed; inode, device as
    unsigned), the digests as one ``\\0``-joined text split only when a signature moved,
    and the lane masks as ``width`` little-endian bytes per file. A row keeps its
    signature only where that signature vouches for it (trusted): every other row has
    ``_NO_STAMP``, which no file's ``stat`` equals, so one comparison of the columns
    finds every row to look at.
    """

    __slots__ = ("_digest_text", "_digests", "_ids", "_masks", "_stamps", "paths", "width")

    def __init__(
        self,
        paths: list[str],
        stamps: array[int],
        ids: array[int],
        digests: list[str] | str,
        masks: bytes | bytearray,
        width: int,
    ) -> None:
        self.paths = paths
        self._stamps = stamps
        self._ids = ids
        self._digest_text = digests if isinstance(digests, str) else None
        self._digests = digests if isinstance(digests, list) else None
        self._masks = bytearray(masks)
        self.width = width

    @classmethod
    def of(cls, entries: Iterable[FileEntry], lanes: int) -> FileTable:
        """The table of ``entries`` (for ``lanes`` lanes)."""
        width = max(1, (lanes + 7) // 8)
        paths: list[str] = []
        stamps, ids = array("q"), array("Q")
        digests: list[str] = []
        masks = bytearray()
        for entry in entries:
            paths.append(entry.path)
            if entry.trusted and entry.signature is not None:
                size, mtime, ctime, inode, device = entry.signature
                stamps.extend((size, mtime, ctime))
                ids.extend((inode, device))
            else:
                stamps.extend(_NO_STAMP)
                ids.extend(_NO_ID)
            digests.append(entry.digest)
            masks += entry.lanes.to_bytes(width, "little")
        return cls(paths, stamps, ids, digests, masks, width)

    def __len__(self) -> int:
        return len(self.paths)

    @overload
    def __getitem__(self, index: int) -> FileEntry: ...

    @overload
    def __getitem__(self, index: slice) -> list[FileEntry]: ...

    def __getitem__(self, index: int | slice) -> FileEntry | list[FileEntry]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        index = range(len(self))[index]
        signature = self.signature(index)
        return FileEntry(self.paths[index], signature, signature is not None, self.digest(index), self.mask(index))

    def signature(self, index: int) -> StatSignature | None:
        """The signature that vouches for row ``index``; None when it is not trusted."""
        size, mtime, ctime = self._stamps[3 * index : 3 * index + 3]
        if size < 0:
            return None
        inode, device = self._ids[2 * index : 2 * index + 2]
        return (size, mtime, ctime, inode, device)

    def digests(self) -> list[str]:
        if self._digests is None:
            assert self._digest_text is not None  # nosec B101 - one of the two is always set
            self._digests = self._digest_text.split("\0") if self.paths else []
            self._digest_text = None
        return self._digests

    def digest(self, index: int) -> str:
        return self.digests()[index]

    def mask(self, index: int) -> int:
        return int.from_bytes(self._masks[index * self.width : (index + 1) * self.width], "little")

    def in_lane(self, lane: int) -> range | list[int]:
        """The rows lane ``lane`` checked, in order: a ``range`` when it checked every file."""
        column = bytes(self._masks[lane // 8 :: self.width]).translate(_BIT_TABLES[lane % 8])
        if b"\0" not in column:  # the usual case: the lane checked every file
            return range(len(self))
        return [index for index, checked in enumerate(column) if checked]

    def settle(self, index: int, signature: StatSignature | None, trusted: bool) -> None:
        """Keep ``signature`` for row ``index`` (``memo.cli.fastpath.refreshed``), vouching if ``trusted``."""
        if trusted and signature is not None:
            size, mtime, ctime, inode, device = signature
            self._stamps[3 * index : 3 * index + 3] = array("q", (size, mtime, ctime))
            self._ids[2 * index : 2 * index + 2] = array("Q", (inode, device))
        else:
            self._stamps[3 * index : 3 * index + 3] = array("q", _NO_STAMP)
            self._ids[2 * index : 2 * index + 2] = array("Q", _NO_ID)

    def moved(self) -> list[int]:
        """The rows whose ``stat`` now differs from their trusted signature (or that have none): one pass.

        The loop does nothing but ``stat`` each path and append its signature to two
        arrays; the arrays are then compared to the stored ones whole, and only where
        they differ, block by block.
        """
        stamps, ids = array("q"), array("Q")
        add_stamp, add_id = stamps.extend, ids.extend
        stat_of = os.stat
        for path in self.paths:
            try:
                info = stat_of(path)
            except (OSError, ValueError):
                add_stamp(_GONE)
                add_id(_NO_ID)
                continue
            add_stamp((info.st_size, info.st_mtime_ns, info.st_ctime_ns))
            add_id((info.st_ino, info.st_dev))
        if stamps == self._stamps and ids == self._ids:
            return []
        found: list[int] = []
        for first in range(0, len(self), _BLOCK):
            last = min(first + _BLOCK, len(self))
            if (
                stamps[3 * first : 3 * last] == self._stamps[3 * first : 3 * last]
                and ids[2 * first : 2 * last] == self._ids[2 * first : 2 * last]
            ):
                continue
            for index in range(first, last):
                if (
                    stamps[3 * index : 3 * index + 3] != self._stamps[3 * index : 3 * index + 3]
                    or ids[2 * index : 2 * index + 2] != self._ids[2 * index : 2 * index + 2]
                ):
                    found.append(index)
        return found

    def sections(self) -> list[bytes]:
        """The columns as ``encode`` writes them: paths, digests, masks, stamps, ids."""
        return [
            "\0".join(self.paths).encode("utf-8", "surrogateescape"),
            "\0".join(self.digests()).encode("utf-8", "surrogateescape"),
            bytes(self._masks),
            self._stamps.tobytes(),
            self._ids.tobytes(),
        ]

    @classmethod
    def from_sections(cls, count: int, width: int, sections: list[bytes]) -> FileTable:
        paths_blob, digests_blob, masks, stamp_bytes, id_bytes = sections
        paths = paths_blob.decode("utf-8", "surrogateescape").split("\0") if count else []
        stamps, ids = array("q"), array("Q")
        stamps.frombytes(stamp_bytes)
        ids.frombytes(id_bytes)
        if (
            len(paths) != count
            or width < 1
            or len(masks) != count * width
            or len(stamps) != 3 * count
            or len(ids) != 2 * count
        ):
            raise ValueError("a file table of the wrong shape")
        table = cls(paths, stamps, ids, digests_blob.decode("utf-8", "surrogateescape"), masks, width)
        if count and digests_blob.count(b"\0") != count - 1:
            raise ValueError("a file table of the wrong shape")
        return table

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FileTable):
            return NotImplemented
        return self.sections() == other.sections() and self.width == other.width

    __hash__ = None  # type: ignore[assignment]
