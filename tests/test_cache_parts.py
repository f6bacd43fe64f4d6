"""Each part ValidationCache composes keeps its promise on its own, with no cache around it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from memo import deferred, readahead
from memo.deferred import DeferredWriter, Item
from memo.errors import StoreBusyError, StoreError, StoreUnavailableError
from memo.explainrecords import RECORD_BATCH, ExplainRecords
from memo.keys import KeyParts, derive_key
from memo.readahead import NOT_PREFETCHED, Prefetched
from memo.store import MemoryStore, Store


class _BusyStore(MemoryStore):
    """A store whose first ``busy`` writes find another process holding the write lock."""

    def __init__(self, busy: int) -> None:
        super().__init__()
        self.busy = busy
        self.writes: list[int] = []

    def set_many(self, items: Sequence[tuple[str, bytes, float | None]]) -> None:
        if self.busy:
            self.busy -= 1
            raise StoreBusyError("database is locked")
        self.writes.append(len(items))
        super().set_many(items)


class _Outcome:
    def __init__(self) -> None:
        self.failures: list[StoreError] = []
        self.written = 0

    def writer(self, store: Store | None) -> DeferredWriter:
        return DeferredWriter(lambda: store, self.failures.append, self._written)

    def _written(self, count: int) -> None:
        self.written += count


def _items(count: int) -> list[Item]:
    return [(f"k{number}", b"v", None) for number in range(count)]


def test_a_prefetched_entry_serves_one_lookup_and_a_missing_one_is_remembered_as_none() -> None:
    buffer = Prefetched()
    buffer.fill(["a", "b"], {"a": b"1"})
    assert buffer.pop("a", NOT_PREFETCHED) == b"1"
    assert buffer.pop("a", NOT_PREFETCHED) is NOT_PREFETCHED  # taken once: the next lookup reads the store
    assert buffer.pop("b", NOT_PREFETCHED) is None


def test_a_prefetch_past_the_limit_drops_what_no_lookup_took(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readahead, "PREFETCH_LIMIT", 3)
    buffer = Prefetched()
    buffer.fill(["a", "b"], {"a": b"1", "b": b"2"})
    buffer.fill(["c", "d"], {"c": b"3"})
    assert buffer == {"c": b"3", "d": None}


async def test_copies_made_in_one_tick_are_written_in_one_store_write() -> None:
    store, outcome = _BusyStore(busy=0), _Outcome()
    writer = outcome.writer(store)
    for item in _items(3):
        writer.copy(item)
    assert store.writes == []
    await asyncio.sleep(0)  # the end of this tick: the flush scheduled by the first copy has run
    assert store.writes == [3]
    assert store.get_many(["k0", "k1", "k2"]).keys() == {"k0", "k1", "k2"}


async def test_a_write_kept_out_by_another_process_is_written_once_the_lock_is_free() -> None:
    store, outcome = _BusyStore(busy=2), _Outcome()
    writer = outcome.writer(store)
    assert writer.defer(_items(4))
    await writer.settle()
    assert (store.writes, outcome.written, outcome.failures) == ([4], 4, [])


async def test_a_write_kept_out_past_the_patience_is_given_up_with_one_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deferred, "WRITE_PATIENCE_S", 0.0)
    store, outcome = _BusyStore(busy=100), _Outcome()
    writer = outcome.writer(store)
    assert writer.defer(_items(2))
    await writer.settle()
    assert (store.writes, outcome.written, len(outcome.failures)) == ([], 0, 1)
    assert isinstance(outcome.failures[0], StoreBusyError)


async def test_writes_deferred_while_the_store_goes_away_are_dropped_not_written() -> None:
    outcome = _Outcome()
    writer = outcome.writer(None)
    assert writer.defer(_items(2))
    await writer.settle()
    assert (outcome.written, outcome.failures) == (0, [])


def test_without_a_running_loop_a_busy_write_cannot_be_deferred() -> None:
    assert not _Outcome().writer(MemoryStore()).defer(_items(1))


def _parts(number: int) -> KeyParts:
    return KeyParts(path=f"m{number}.py", content=f"{number:064x}", config="c", dimension="lint", validator="v")


class _CountingIndex(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def set_many(self, items: Sequence[tuple[str, bytes, float | None]]) -> None:
        self.batches.append(len(items))
        super().set_many(items)


def test_explain_records_are_written_a_batch_at_a_time_and_read_back() -> None:
    index = _CountingIndex()
    records = ExplainRecords(index)
    for number in range(RECORD_BATCH + 1):
        records.record(derive_key(_parts(number)), _parts(number))
    assert index.batches == [RECORD_BATCH]
    assert records.last_stored("lint", f"m{RECORD_BATCH}.py") == (
        derive_key(_parts(RECORD_BATCH)),
        _parts(RECORD_BATCH),
    )
    assert index.batches == [RECORD_BATCH, 1]  # reading writes what was kept first
    assert records.last_stored("lint", "other.py") is None


class _GoneIndex(MemoryStore):
    def set_many(self, items: Sequence[tuple[str, bytes, float | None]]) -> None:
        raise StoreUnavailableError("not using the cache: directory removed")


def test_explain_records_whose_store_is_gone_stop_quietly() -> None:
    records = ExplainRecords(_GoneIndex())
    records.record("key", _parts(1))
    records.flush()
    assert not records.kept
    assert records.last_stored("lint", "m1.py") is None
