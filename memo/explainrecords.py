"""The records ``memo.explain`` reads: the key parts of the entry last stored per file and dimension.

When a result is stored, the parts of its key are recorded under one record per file and
dimension, in a second, small store beside the results (``explain/`` in the cache
directory), so a later miss can be explained part by part. Records are made only when a
result is stored, never on a hit, and kept in memory and written in batches (at the
latest on ``close``): a miss costs no second write, and the records' store is opened once
a run has something to say, not under the deadline of the first check that stored.

The records are a diagnostic: their failures are logged at debug level only. The faults
that hit them (a deleted directory, a busy database) hit the results' store too, which
warns once for both.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from memo.errors import StoreError, StoreUnavailableError
from memo.keys import KeyParts, last_stored_key
from memo.store import DiskStore, Store

log = logging.getLogger("memo")

INDEX_DIRECTORY = "explain"
"""Subdirectory of the cache directory holding the per-file records ``memo.explain`` reads."""
RECORD_BATCH = 512
"""Explain records kept in memory before they are written."""


def open_records_store(cache_dir: Path, *, size_limit: int, timeout: float) -> DiskStore:
    """The records' store in ``cache_dir`` (``explain/``), sized by the results' ``size_limit``."""
    index_limit = max(size_limit // 16, 1 << 20)
    return DiskStore(cache_dir, subdirectory=INDEX_DIRECTORY, size_limit=index_limit, timeout=timeout)


class ExplainRecords:
    """The records of one cache, in ``index`` (None: none are kept)."""

    def __init__(self, index: Store | None) -> None:
        self._index = index
        self._pending: dict[str, bytes] = {}

    @property
    def kept(self) -> bool:
        """Whether records are kept at all (not once their store failed for good)."""
        return self._index is not None

    def record(self, key: str, parts: KeyParts) -> None:
        """Remember ``parts`` as those of the entry last stored for their file and dimension."""
        if self._index is None:
            return
        data = json.dumps({"key": key, "parts": parts.to_dict()}, separators=(",", ":"), ensure_ascii=False)
        self._pending[last_stored_key(parts.dimension, parts.path)] = data.encode(errors="surrogatepass")
        if len(self._pending) >= RECORD_BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the records kept in memory."""
        pending, self._pending = self._pending, {}
        index = self._index
        if index is None or not pending:
            return
        try:
            index.set_many([(index_key, data, None) for index_key, data in pending.items()])
        except StoreError as exc:
            self._failed(exc)

    def last_stored(self, dimension: str, path: str) -> tuple[str, KeyParts] | None:
        """The key and parts last recorded for ``path`` (relative) in ``dimension``; None if unreadable."""
        self.flush()
        index = self._index
        if index is None:
            return None
        try:
            data = index.get(last_stored_key(dimension, path))
        except StoreError as exc:
            self._failed(exc)
            return None
        if type(data) is not bytes:
            return None
        try:
            record = json.loads(data.decode(errors="surrogatepass"))
        except (ValueError, RecursionError):
            return None
        if not isinstance(record, dict) or type(record.get("key")) is not str:
            return None
        parts = KeyParts.from_dict(record.get("parts"))
        if parts is None or (parts.dimension, parts.path) != (dimension, path):
            return None
        return record["key"], parts

    def clear(self) -> None:
        """Forget every record, kept in memory or written (the results were cleared)."""
        self._pending = {}
        index = self._index
        if index is not None:
            try:
                index.clear()
            except StoreError as exc:
                self._failed(exc)

    def stop(self) -> None:
        """Keep no more records: the cache's directory cannot be used."""
        self._index = None

    def close(self) -> None:
        """Write what is kept in memory and close the records' store."""
        self.flush()
        if self._index is not None:
            self._index.close()

    def _failed(self, exc: StoreError) -> None:
        if isinstance(exc, StoreUnavailableError):
            self._index = None
        log.debug("memo cache: explain records: %s", exc)
