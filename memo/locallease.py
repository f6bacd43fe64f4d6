"""Local leases: two processes on one cache directory run each check once; the other waits for it.

Two ``memo run`` processes started together on one cache would otherwise each run every
check. As across machines (``memo.lease``), the first process to miss a key takes a
lease on it and runs the check; the others wait until its entry appears in the cache,
then use it. The lease, the polling and the ``wait_s`` bound are ``memo.lease``'s; this
module is the ``LeaseClient`` over the cache directory.

Leases live in a small database of their own (``leases/`` in the cache directory, a
``DiskStore``: the same checked, held-open directory, bytes only), so taking them never
contends with result writes. Every lease taken or released in one event-loop tick is one
transaction (``memo.batch.Batcher``), so a cold run that misses hundreds of keys at once
pays one commit per tick, not one per key, and a process alone never waits.

A lease records its holder: host, boot, pid, the process's start time and a random
token. A lease is free once its expiry has passed or its holder is gone: a pid that no
longer runs, runs as a zombie, or started at another time (the pid was reused), or a
boot that is not this one. So a killed holder frees its leases at once, and a holder
that is alive keeps them without renewing, however long its check (mypy) takes; a waiter
still stops waiting after ``wait_s`` and runs the check itself. The expiry only matters
for a holder whose liveness cannot be checked (another host sharing the directory), and
it is believed only within the policy's ``ttl_ms``: a lease expiring further ahead than
a lease can last (a row planted in a restored cache) is free.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from memo.batch import Batcher
from memo.errors import StoreBusyError, StoreError, StoreUnavailableError
from memo.lease import DEFAULT_WAIT_S, Claim, LeasePolicy, claim
from memo.store import DELETE, KEEP, Change, DiskStore

LEASE_DIRECTORY = "leases"
"""Subdirectory of the cache directory holding the leases' database."""

LOCAL_POLICY = LeasePolicy(ttl_ms=int(2 * DEFAULT_WAIT_S * 1000), wait_s=DEFAULT_WAIT_S)
"""The expiry outlasts the wait: a waiter gives up on a live holder before its lease expires."""

BUSY_PATIENCE_S = 2.0
"""How long a lease transaction keeps trying (without blocking the loop) while another process writes."""

_FIRST_BUSY_PAUSE_S = 0.005
_MAX_BUSY_PAUSE_S = 0.1

_live_tokens: set[str] = set()
"""Tokens of leases this process holds now: a lease of this pid with another token was leaked."""
_live_lock = threading.Lock()


@dataclass
class LeaseCounters:
    """What the local leases did this run."""

    taken: int = 0
    waits: int = 0
    """Keys this process waited on because another process held their lease."""
    hits: int = 0
    """Entries another process computed while this one waited."""
    busy: int = 0
    """Lease transactions given up because the database stayed busy (the check ran unleased)."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lease: enough to tell, on this machine, whether it still runs."""

    host: str
    boot: str
    pid: int
    start: str
    """The process's start time (``/proc/<pid>/stat``), "" where it cannot be read."""


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            return file.read()
    except OSError:
        return None


def _process_stat(pid: int) -> tuple[str, str] | None:
    """The state and start time of ``pid`` from ``/proc``, or None where there is no ``/proc``."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # the name may hold spaces and parentheses
    return (fields[0], fields[19]) if len(fields) > 19 else None


@functools.lru_cache(maxsize=1)
def _machine() -> tuple[str, str]:
    boot = _read("/proc/sys/kernel/random/boot_id")
    return socket.gethostname(), "" if boot is None else boot.strip()


@functools.lru_cache(maxsize=4)
def _holder_for(pid: int) -> Holder:
    host, boot = _machine()
    stat = _process_stat(pid)
    return Holder(host, boot, pid, "" if stat is None else stat[1])


def this_process() -> Holder:
    """This process as a lease holder (looked up once per pid: a forked child is another holder)."""
    return _holder_for(os.getpid())


def process_gone(holder: Holder) -> bool:
    """Whether ``holder`` has certainly stopped running; False when that cannot be told from here."""
    host, boot = _machine()
    if holder.host != host:
        return False  # another machine sharing the directory: only the expiry can tell
    if boot and holder.boot and boot != holder.boot:
        return True  # this machine rebooted since
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # runs, as another user
    except OSError:
        return False
    stat = _process_stat(holder.pid)
    if stat is None:
        return False
    state, start = stat
    return state in ("Z", "X", "x") or (bool(holder.start) and start != holder.start)


def encode_lease(holder: Holder, token: str, expires_at: float) -> bytes:
    """The bytes stored for a lease: JSON, never a pickle."""
    fields = [holder.host, holder.boot, holder.pid, holder.start, token, expires_at]
    return json.dumps(fields, separators=(",", ":")).encode()


def decode_lease(data: bytes) -> tuple[Holder, str, float] | None:
    """The holder, token and expiry stored in ``data``; None for anything malformed."""
    try:
        host, boot, pid, start, token, expires_at = json.loads(data)
    except (ValueError, TypeError, RecursionError):
        return None
    if not (
        isinstance(host, str)
        and isinstance(boot, str)
        and type(pid) is int
        and pid > 0  # never 0 or negative: os.kill would signal a whole process group
        and isinstance(start, str)
        and isinstance(token, str)
        and type(expires_at) in (int, float)
    ):
        return None
    return Holder(host, boot, pid, start), token, float(expires_at)


def lease_is_free(
    data: bytes | None,
    now: float,
    gone: Callable[[Holder], bool] = process_gone,
    ours: Container[str] = frozenset(),
    longest_s: float = LOCAL_POLICY.ttl_ms / 1000,
) -> bool:
    """Whether the lease stored as ``data`` can be taken: absent, malformed, expired or its holder gone.

    ``ours``: tokens of the asking ``LocalLeases``; within one cache, single flight already
    runs a key once, so a lease it still holds (a flight being torn down) is no reason to wait.
    ``longest_s``: how long a lease can last. One expiring further ahead (or at no number:
    NaN, infinity) was not taken by a process with this policy: a row planted in a
    restored cache is free, never a wait until its own expiry.
    """
    if data is None:
        return True
    lease = decode_lease(data)
    if lease is None:
        return True
    holder, token, expires_at = lease
    if not now < expires_at <= now + longest_s:
        return True
    if holder == this_process():
        with _live_lock:
            # No flight holds it (left behind by a closed loop), or it is the asker's own.
            return token not in _live_tokens or token in ours
    return gone(holder)


class LocalLeases:
    """``memo.lease.LeaseClient`` over a cache directory's ``leases/`` database.

    ``entry(key)``: the verified, live entry bytes stored under ``key``, or None; read
    after a lease is taken (or seen held), so a holder's entry is seen as soon as it is stored.
    ``before_release``: awaited before leases are released, so entries whose write
    was deferred (a busy database) are in the store before their lease is given up.
    """

    def __init__(
        self,
        store: DiskStore,
        entry: Callable[[str], bytes | None],
        *,
        policy: LeasePolicy = LOCAL_POLICY,
        before_release: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.time,
        max_batch: int = 512,
    ) -> None:
        self.store = store
        self.policy = policy
        self.counters = LeaseCounters()
        self.off_reason: str | None = None
        self._entry = entry
        self._before_release = before_release
        self._clock = clock
        self._takes: Batcher[tuple[str, str, int], tuple[bool, bytes | None] | None] = Batcher(
            self._take_batch, max_batch=max_batch
        )
        self._states: Batcher[str, tuple[bytes | None, bool] | None] = Batcher(self._state_batch, max_batch=max_batch)
        self._releases: dict[str, str] = {}
        self._held: set[str] = set()
        """Tokens of the leases this instance holds now."""
        self._abandoned: set[str] = set()
        """Tokens whose ``try_lease`` was cancelled: released even if their batch takes them later."""
        self._release_task: asyncio.Task[None] | None = None

    @property
    def available(self) -> bool:
        return self.off_reason is None

    # -- memo.lease.LeaseClient ------------------------------------------------------------

    async def try_lease(self, key: str, token: str, ttl_ms: int) -> tuple[bool, bytes | None] | None:
        """Take the lease on ``key`` if it is free, then read its entry."""
        if not self.available:
            return None
        try:
            return await self._takes.load((key, token, ttl_ms))
        except asyncio.CancelledError:
            # The batch goes on for the other callers and may take this lease: give it up.
            self._abandoned.add(token)
            self.release(key, token)
            raise

    async def lease_state(self, key: str) -> tuple[bytes | None, bool] | None:
        """The entry under ``key`` (if any) and whether its lease is held by a live holder."""
        if not self.available:
            return None
        return await self._states.load(key)

    def release(self, key: str, token: str) -> None:
        """Give up our lease on ``key``: queued, and released with the others of this tick."""
        self._held.discard(token)
        with _live_lock:
            _live_tokens.discard(token)
        self._releases[key] = token
        if self._release_task is not None and not self._release_task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush_releases()
            return
        self._release_task = loop.create_task(self._release_soon())

    async def claim(self, key: str) -> Claim:
        """Take the lease on ``key`` or wait, bounded, for the process holding it (``memo.lease``)."""
        if not self.available:
            return Claim()
        outcome = await claim(self, key, self.policy)
        if outcome.waited:
            self.counters.waits += 1
        if outcome.value is not None:
            self.counters.hits += 1
        elif outcome.token is not None:
            self.counters.taken += 1
        return outcome

    # -- batches ------------------------------------------------------------------------------

    async def _take_batch(
        self, items: Sequence[tuple[str, str, int]]
    ) -> Mapping[tuple[str, str, int], tuple[bool, bytes | None] | None]:
        holder = this_process()
        taken: list[bool] = []
        gone = functools.cache(process_gone)  # one look at each holder per batch, not one per key

        def decide(_key: str, current: bytes | None) -> Change:
            # ``update_many`` calls this once per item, in order: ``len(taken)`` is the item's index.
            _, token, ttl_ms = items[len(taken)]
            now = self._clock()
            if not lease_is_free(current, now, gone, self._held, self.policy.ttl_ms / 1000):
                taken.append(False)
                return KEEP
            taken.append(True)
            self._held.add(token)
            with _live_lock:
                _live_tokens.add(token)
            return encode_lease(holder, token, now + ttl_ms / 1000), ttl_ms / 1000

        def attempt() -> None:
            taken.clear()
            self.store.update_many([key for key, _, _ in items], decide)

        if not await self._transact(attempt):
            self._held.difference_update(token for _, token, _ in items)
            with _live_lock:
                _live_tokens.difference_update(token for _, token, _ in items)
            return dict.fromkeys(items)
        for (key, token, _), won in zip(items, taken, strict=True):
            if token in self._abandoned:
                self._abandoned.discard(token)
                if won:
                    self.release(key, token)
        # Read after taking: a holder stores its entry before it releases, so a lease
        # found free and an entry found absent mean the check is ours to run.
        return {item: (won, self._entry(item[0])) for item, won in zip(items, taken, strict=True)}

    async def _state_batch(self, keys: Sequence[str]) -> Mapping[str, tuple[bytes | None, bool] | None]:
        states: dict[str, tuple[bytes | None, bool] | None] = {}
        now = self._clock()
        gone = functools.cache(process_gone)
        for key in keys:
            try:
                held = not lease_is_free(self.store.get(key), now, gone, self._held, self.policy.ttl_ms / 1000)
            except StoreError as exc:
                self._failed(exc)
                return dict.fromkeys(keys)
            states[key] = (self._entry(key), held)
        return states

    async def _release_soon(self) -> None:
        if self._before_release is not None:
            await self._before_release()
        while self._releases:
            releases, self._releases = self._releases, {}
            try:
                done = await self._transact(functools.partial(self._release_all, releases))
            except asyncio.CancelledError:
                self._releases = {**releases, **self._releases}  # for the next task, or ``close``
                raise
            if not done:
                return  # left behind: a live holder's lease expires; a gone one's is free already

    def _release_all(self, releases: Mapping[str, str]) -> None:
        def decide(key: str, current: bytes | None) -> Change:
            lease = None if current is None else decode_lease(current)
            return DELETE if lease is not None and lease[1] == releases[key] else KEEP

        self.store.update_many(list(releases), decide)

    def flush_releases(self) -> None:
        """Release what is queued now, waiting (bounded) for other processes' locks: for ``close``."""
        releases, self._releases = self._releases, {}
        if not releases or not self.available:
            return
        deadline = time.monotonic() + BUSY_PATIENCE_S
        while True:
            try:
                self._release_all(releases)
                return
            except StoreBusyError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(_FIRST_BUSY_PAUSE_S)
            except StoreError as exc:
                self._failed(exc)
                return

    async def _transact(self, attempt: Callable[[], None]) -> bool:
        """``attempt()`` (one transaction), tried again with growing pauses while the database is busy."""
        deadline = time.monotonic() + BUSY_PATIENCE_S
        pause = _FIRST_BUSY_PAUSE_S
        while self.available:
            try:
                attempt()
                return True
            except StoreBusyError:
                if time.monotonic() >= deadline:
                    self.counters.busy += 1
                    return False
                await asyncio.sleep(pause)
                pause = min(pause * 2, _MAX_BUSY_PAUSE_S)
            except StoreError as exc:
                self._failed(exc)
                return False
        return False

    def _failed(self, exc: StoreError) -> None:
        """An untrusted or unopenable lease database turns leases off for the run; other faults cost one batch."""
        if isinstance(exc, StoreUnavailableError):
            self.off_reason = str(exc)

    def close(self) -> None:
        """Release what is queued and close the leases' database."""
        self.flush_releases()
        self.store.close()
