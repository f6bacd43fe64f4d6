"""The shared tier: signed entries in Redis (or Valkey), behind the local disk cache.

What it guarantees:

- It is never in the way. Every network call runs on a small thread pool, never on the
  event loop, and every wait is bounded (``connect_timeout``, ``op_timeout``). A refused
  or failed connection turns the tier off for the rest of the run with one warning (a
  circuit breaker), so a run pays at most one connect timeout; a stalled server costs
  each batch at most ``op_timeout``, and a few stalls in a row turn the tier off too.
- It is cheap on the hit path. Lookups that arrive in one event-loop tick go out as one
  pipeline (``memo.batch.Batcher``); writes queue up and go out as one pipeline, signed
  once for the whole batch, so a reader verifies one signature per batch, not per entry.
- It is bounded whatever the server holds. A lookup reads at most ``PROBE_BYTES`` of a
  value, and a longer one whole only if its length is within the size cap, so an
  oversized value is refused before it is transferred; a value of another type is a
  counted miss; a reply of the wrong shape turns the tier off with one line; a slow reply
  costs a batch at most ``connect_timeout + op_timeout``.
- It cannot be used against the machine. Values are signed with Ed25519 over key and
  value (``memo.signing``); anything no accepted key signed is a miss, counted, and
  never decoded. Values are memo's JSON entries, never pickles, capped in size, and
  stored with a TTL under a versioned key prefix. Without a key the tier does not start.
- Untrusted jobs can read and never write: ``mode="read-only"`` sends no write, no
  lease, no delete, and a tier without the private key (public keys only) is read-only
  whatever the mode, since nothing it signed would be accepted. A server that refuses a
  write (a Redis ACL user allowed to read only) turns the tier read-only, with a warning.
- The password comes from the URL or ``$VALIDATION_CACHE_REMOTE_PASSWORD``; every message
  shows the address with the password replaced by ``***``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from memo.batch import Batcher
from memo.credentials import PASSWORD_ENV, REMOTE_ENV, SIGNING_KEY_ENV, VERIFY_KEYS_ENV
from memo.lease import Claim, LeasePolicy, claim
from memo.replies import NotRedisReply, describe_failure, pipeline_reply
from memo.signing import Signer, signer_from_environment

log = logging.getLogger("memo")

MODE_ENV = "VALIDATION_CACHE_REMOTE_MODE"

READ_WRITE = "read-write"
READ_ONLY = "read-only"
MODES = (READ_WRITE, READ_ONLY)
SCHEMES = ("redis", "rediss", "unix")

KEY_PREFIX = "memo:v1:"
"""Every key memo writes starts with this; a new layout gets a new version, never a clash."""
CLEAR_PATTERN = "memo:*"

DEFAULT_MAX_VALUE_BYTES = 1 << 20
DEFAULT_MAX_TTL_S = 7 * 86400
"""Entries that never expire locally still expire remotely: the shared tier is not an archive."""
DEFAULT_CONNECT_TIMEOUT_S = 1.0
DEFAULT_OP_TIMEOUT_S = 0.5
PROBE_BYTES = 64 * 1024
"""Bytes of each value a lookup reads in its one round trip (``GETRANGE key 0 PROBE_BYTES``).

An entry is a few KB, so a lookup is one round trip; a longer value (one more byte came
back) has its length asked for (``STRLEN``) and is read whole only if it is within the
size cap. So a value over the cap is refused having cost at most ``PROBE_BYTES + 1``
bytes, whatever its size, and a batch of lookups transfers at most its size times that.
"""
LARGE_READ_BUDGET = 8 * 2**20
"""Bytes of values longer than ``PROBE_BYTES`` read in one round trip: their memory at once."""
STALLS_BEFORE_OFF = 3
"""Timeouts in a row (a stalled server) after which the tier is off for the run."""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

_TAKE = """
local left = redis.call('pttl', KEYS[1])
if left == -2 or left == -1 or left > tonumber(ARGV[2]) then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
"""Take a lease: ``SET NX PX``, and also over a key no lease leaves (no expiry, or one further ahead than ours).

A key planted without an expiry (or with a year's) would otherwise make every machine
wait ``wait_s`` on each key; sent whole (``EVAL``), so taking stays one round trip.
"""

T = TypeVar("T")


def _query_password(query: str) -> str | None:
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "password":
            return value
    return None


def redact(url: str) -> str:
    """``url`` with any password (in the address or a ``?password=``) shown as ``***``.

    The only form of an address memo ever prints.
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable address>"
    if password is not None:
        user = parts.username or ""
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        parts = parts._replace(netloc=f"{user}:***@{host}")
    if _query_password(parts.query) is not None:
        pairs = [(n, "***" if n == "password" else v) for n, v in parse_qsl(parts.query, keep_blank_values=True)]
        parts = parts._replace(query=urlencode(pairs, safe="*"))
    if password is None and _query_password(urlsplit(url).query) is None:
        return url
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}{query}{fragment}"


def url_password(url: str) -> str | None:
    """The password ``url`` carries, in its address or as ``?password=``; None if none."""
    try:
        parts = urlsplit(url)
        return parts.password or _query_password(parts.query)
    except ValueError:
        return None


def check_address(url: str) -> str:
    """``url`` if it is a redis://, rediss:// or unix:// address; ValueError (redacted) if not."""
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme not in SCHEMES:
        raise ValueError(f"remote cache address must start with redis://, rediss:// or unix://, not {redact(url)!r}")
    return url


def has_password(url: str) -> bool:
    """Whether ``url`` carries a password (config files must not)."""
    return url_password(url) is not None


def check_mode(mode: str) -> str:
    """``mode`` normalised; ValueError unless read-write or read-only."""
    normal = mode.strip().lower()
    if normal not in MODES:
        raise ValueError(f"remote cache mode must be one of {', '.join(MODES)}, not {mode!r}")
    return normal


@dataclass
class RemoteCounters:
    """What the shared tier did this run."""

    hits: int = 0
    misses: int = 0
    rejected: int = 0
    """Entries whose signature was missing or did not verify, or that were over the size cap."""
    errors: int = 0
    timeouts: int = 0
    skipped: int = 0
    """Lookups not sent because the tier was off."""
    writes: int = 0
    write_errors: int = 0
    leases_taken: int = 0
    lease_waits: int = 0
    lease_hits: int = 0
    """Entries another machine computed while this one waited on its lease."""


class RemoteTier:
    """Signed entries in Redis, read in batches and written in pipelines, off the event loop."""

    def __init__(
        self,
        url: str,
        signer: Signer,
        *,
        mode: str = READ_WRITE,
        password: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        op_timeout: float = DEFAULT_OP_TIMEOUT_S,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        max_ttl_s: int = DEFAULT_MAX_TTL_S,
        lease: LeasePolicy | None = None,
        max_batch: int = 512,
    ) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = check_address(url)
        self.address = redact(url)
        # Without the private key nothing this tier wrote would be accepted: read only.
        self.mode = check_mode(mode) if signer.can_sign else READ_ONLY
        self.max_value_bytes = max_value_bytes
        self.max_ttl_s = max_ttl_s
        self.op_timeout = op_timeout
        self.connect_timeout = connect_timeout
        self.lease_policy = lease or LeasePolicy()
        self.counters = RemoteCounters()
        self.off_reason: str | None = None
        self._signer = signer
        in_url = url_password(url)
        self._secrets = [s for s in (password, in_url) if s]
        extra: dict[str, Any] = {} if password is None or in_url else {"password": password}
        # No retries: a retry would multiply the bounded waits the breaker exists to cap.
        self._client = redis.Redis.from_url(
            url,
            socket_connect_timeout=connect_timeout,
            socket_timeout=op_timeout,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            health_check_interval=0,
            client_name="memo",
            **extra,
        )
        self._release = self._client.register_script(_RELEASE)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="memo-remote")
        self._reads: Batcher[str, bytes | None] = Batcher(self._read_batch, max_batch=max_batch)
        self._lease_reads: Batcher[tuple[str, str, int], tuple[bool, bytes | None] | None] = Batcher(
            self._lease_batch, max_batch=max_batch
        )
        self._lease_states: Batcher[str, tuple[bytes | None, bool] | None] = Batcher(
            self._lease_state_batch, max_batch=max_batch
        )
        self._lock = threading.Lock()
        self._pending: list[tuple[str, str, bytes | str, int]] = []
        """Queued ops: ("set", key, entry bytes, ttl ms), sealed at ``flush``; ("release", key, token, 0)."""
        self._inflight: set[concurrent.futures.Future[None]] = set()
        self._flush_scheduled = False
        self._stalls_in_row = 0
        self._closed = False

    # -- state --------------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Whether lookups are still sent (the breaker has not tripped)."""
        return self.off_reason is None and not self._closed

    @property
    def writable(self) -> bool:
        """Whether this run writes entries and takes leases (read-write, and available)."""
        return self.mode == READ_WRITE and self.available

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _turn_off(self, reason: str) -> None:
        with self._lock:
            if self.off_reason is not None:
                return
            self.off_reason = reason
        log.warning("memo remote cache: %s is off for this run (%s); using the local cache only", self.address, reason)

    def _failed(self, exc: BaseException) -> None:
        """Count a failed round trip; a connection failure, or a few stalls in a row, turn the tier off.

        A write the server refused for want of permission (an ACL user allowed to read
        only) turns the tier read-only instead: its reads are still good.
        """
        self.counters.errors += 1
        message = self._clean(" ".join(str(exc).split()) or type(exc).__name__)
        if type(exc).__name__ == "NoPermissionError" and self.mode == READ_WRITE:
            self.mode = READ_ONLY
            log.warning(
                "memo remote cache: %s refused a write (%s); reading only for the rest of this run",
                self.address,
                message,
            )
            return
        stalled = isinstance(exc, (TimeoutError, asyncio.TimeoutError)) or type(exc).__name__ == "TimeoutError"
        if stalled and "connect" not in message.lower():
            self.counters.timeouts += 1
            self._stalls_in_row += 1
            if self._stalls_in_row >= STALLS_BEFORE_OFF:
                self._turn_off(f"{STALLS_BEFORE_OFF} requests in a row timed out after {self.op_timeout:g}s")
            return
        self._turn_off(describe_failure(exc, message))

    async def _off_loop(self, call: Callable[[], T]) -> T | None:
        """``call()`` on the pool, waited on for a bounded time; None (counted) if it failed."""
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._pool, call)
        except RuntimeError as exc:  # the pool was shut down (closed mid-run)
            self._failed(exc)
            return None
        try:
            result = await asyncio.wait_for(future, self.connect_timeout + self.op_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(exc)
            return None
        self._stalls_in_row = 0
        return result

    # -- reads --------------------------------------------------------------------------------

    async def _read_batch(self, names: Sequence[str]) -> Mapping[str, bytes | None]:
        values = await self._off_loop(lambda: self._read_values(names)) if self.available else None
        if values is None:
            return dict.fromkeys(names)
        return dict(zip(names, values, strict=True))

    def _read_values(self, names: Sequence[str], before: Callable[[Any], None] | None = None) -> list[Any]:
        """The values under ``names``, each read only if within the size cap (on the pool, blocking).

        One pipeline of ``GETRANGE name 0 PROBE_BYTES`` (see ``PROBE_BYTES``), after the
        commands ``before`` adds, whose replies come first. A missing key, a value of
        another type or over the cap is None (the last two counted as rejected), so
        whatever the server holds, a lookup transfers a bounded number of bytes.
        """
        probe = min(PROBE_BYTES, self.max_value_bytes)
        pipe = self._client.pipeline(transaction=False)
        if before is not None:
            before(pipe)
        for name in names:
            pipe.getrange(name, 0, probe)
        expected = len(pipe)
        replies = pipeline_reply(pipe.execute(raise_on_error=False), expected)
        first = len(replies) - len(names)
        for reply in replies[:first]:
            if isinstance(reply, Exception):  # a refused lease take (an ACL reader): the tier's failure policy decides
                raise reply
        values: list[bytes | None] = [self._bounded(reply, probe) for reply in replies[first:]]
        longer = [i for i, reply in enumerate(replies[first:]) if type(reply) is bytes and len(reply) > probe]
        if longer:
            pipe = self._client.pipeline(transaction=False)
            for i in longer:
                pipe.strlen(names[i])
            within = []
            for i, length in zip(longer, pipe.execute(raise_on_error=False), strict=True):
                if type(length) is int and length <= self.max_value_bytes:
                    within.append(i)
                else:
                    self.counters.rejected += 1  # over the cap: refused without reading it
            self._read_whole(names, within, values)
        return [*replies[:first], *values]

    def _bounded(self, reply: Any, limit: int) -> bytes | None:
        """A reply that is a value of at most ``limit`` bytes, else None (another type: counted as rejected)."""
        if type(reply) is not bytes:
            if isinstance(reply, Exception):
                self.counters.rejected += 1  # a WRONGTYPE error: planted state, not memo's
            elif reply is not None:
                raise NotRedisReply(f"GETRANGE answered a {type(reply).__name__}")  # no Redis does
            return None
        return reply if 0 < len(reply) <= limit else None  # GETRANGE answers b"" for a missing key

    def _read_whole(self, names: Sequence[str], indices: Sequence[int], values: list[bytes | None]) -> None:
        """Read the values at ``indices`` whole, at most ``LARGE_READ_BUDGET`` bytes per round trip."""
        per_trip = max(1, LARGE_READ_BUDGET // self.max_value_bytes)
        for start in range(0, len(indices), per_trip):
            chunk = indices[start : start + per_trip]
            pipe = self._client.pipeline(transaction=False)
            for i in chunk:
                pipe.getrange(names[i], 0, self.max_value_bytes)
            for i, reply in zip(chunk, pipe.execute(raise_on_error=False), strict=True):
                values[i] = self._bounded(reply, self.max_value_bytes)
                if values[i] is None and type(reply) is bytes and reply:
                    self.counters.rejected += 1  # grew over the cap since its length was read

    def _verified(self, key: str, raw: bytes | None) -> bytes | None:
        if raw is None:
            return None
        if len(raw) > self.max_value_bytes:
            self.counters.rejected += 1
            return None
        value = self._signer.open(key, raw)
        if value is None:
            self.counters.rejected += 1
        return value

    async def get(self, key: str) -> bytes | None:
        """The verified entry bytes stored under ``key`` by a holder of the secret, or None."""
        if not self.available:
            self.counters.skipped += 1
            return None
        value = self._verified(key, await self._reads.load(KEY_PREFIX + "e:" + key))
        if value is None:
            self.counters.misses += 1
        else:
            self.counters.hits += 1
        return value

    # -- leases (memo.lease.LeaseClient) ----------------------------------------------------

    async def _lease_batch(
        self, items: Sequence[tuple[str, str, int]]
    ) -> Mapping[tuple[str, str, int], tuple[bool, bytes | None] | None]:
        def take(pipe: Any) -> None:
            for key, token, ttl_ms in items:
                pipe.eval(_TAKE, 1, KEY_PREFIX + "l:" + key, token, ttl_ms)

        def run() -> list[Any]:
            return self._read_values([KEY_PREFIX + "e:" + key for key, _, _ in items], take)

        replies = await self._off_loop(run) if self.writable else None
        if replies is None:
            return dict.fromkeys(items)
        taken = [reply == 1 for reply in replies[: len(items)]]
        return {item: (taken[i], replies[len(items) + i]) for i, item in enumerate(items)}

    async def try_lease(self, key: str, token: str, ttl_ms: int) -> tuple[bool, bytes | None] | None:
        """Take the lease on ``key`` if it is free, reading its entry in the same round trip."""
        if not self.writable:
            return None
        reply = await self._lease_reads.load((key, token, ttl_ms))
        if reply is None:
            return None
        taken, raw = reply
        return taken, self._verified(key, raw)

    async def lease_state(self, key: str) -> tuple[bytes | None, bool] | None:
        """The verified entry under ``key`` (if any) and whether its lease is held."""
        if not self.available:
            return None
        state = await self._lease_states.load(key)
        if state is None or not self.available:
            return None
        raw, held = state
        return self._verified(key, raw), held

    async def _lease_state_batch(self, keys: Sequence[str]) -> Mapping[str, tuple[bytes | None, bool] | None]:
        """Each key's entry (bounded read) and whether a lease holds it, in one round trip.

        Held means a lease key that expires within the policy's ``ttl_ms``: one with no
        expiry or a longer one was not left by a lease (``_TAKE`` takes it over).
        """

        def ttls(pipe: Any) -> None:
            for key in keys:
                pipe.pttl(KEY_PREFIX + "l:" + key)

        def run() -> list[Any]:
            return self._read_values([KEY_PREFIX + "e:" + key for key in keys], ttls)

        replies = await self._off_loop(run) if self.available else None
        if replies is None:
            return dict.fromkeys(keys)
        longest = self.lease_policy.ttl_ms
        return {
            key: (replies[len(keys) + i], type(left) is int and 0 < left <= longest)
            for i, (key, left) in enumerate(zip(keys, replies, strict=False))
        }

    async def claim(self, key: str) -> Claim:
        """Take the lease on ``key`` or wait, bounded, for the machine holding it (``memo.lease``)."""
        if not self.writable:
            return Claim()
        outcome = await claim(self, key, self.lease_policy)
        if outcome.waited:
            self.counters.lease_waits += 1
        if outcome.value is not None:
            self.counters.lease_hits += 1
        elif outcome.token is not None:
            self.counters.leases_taken += 1
        return outcome

    def release(self, key: str, token: str) -> None:
        """Release our lease on ``key`` after the entry (queued before it) is written."""
        self._queue(("release", key, token, 0))

    # -- writes -------------------------------------------------------------------------------

    def put(self, key: str, value: bytes, ttl_s: float | None) -> None:
        """Queue ``value`` (entry bytes) to be written under ``key``, sealed with the rest of its batch.

        Never blocks. A value that is over the size cap once sealed is not written.
        """
        if not self.writable or len(value) > self.max_value_bytes:
            return
        ttl = self.max_ttl_s if not ttl_s else min(ttl_s, self.max_ttl_s)
        self._queue(("set", key, value, max(1, int(ttl * 1000))))

    def _queue(self, op: tuple[str, str, bytes | str, int]) -> None:
        if not self.writable:
            return
        with self._lock:
            self._pending.append(op)
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        try:
            asyncio.get_running_loop().call_soon(self.flush)
        except RuntimeError:  # no running loop: write now
            self.flush()

    def flush(self) -> None:
        """Seal every queued entry under one signature and send the queue as one pipeline, on the pool."""
        with self._lock:
            ops, self._pending = self._pending, []
            self._flush_scheduled = False
        if not ops or not self.writable:
            return
        ops = self._sealed(ops)
        try:
            future = self._pool.submit(self._write, ops)
        except RuntimeError:
            return
        with self._lock:
            self._inflight.add(future)
        future.add_done_callback(self._written)

    def _sealed(self, ops: list[tuple[str, str, bytes | str, int]]) -> list[tuple[str, str, bytes | str, int]]:
        """``ops`` in order (an entry before its lease's release), entries sealed under one signature.

        An entry over the size cap once sealed is left out.
        """
        entries = [(key, value) for kind, key, value, _ in ops if kind == "set" and isinstance(value, bytes)]
        sealed = iter(self._signer.seal_many(entries))
        out: list[tuple[str, str, bytes | str, int]] = []
        for kind, key, value, ttl_ms in ops:
            if kind == "set" and isinstance(value, bytes):
                value = next(sealed)
                if len(value) > self.max_value_bytes:
                    continue
            out.append((kind, key, value, ttl_ms))
        return out

    def _write(self, ops: list[tuple[str, str, bytes | str, int]]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for kind, key, value, ttl_ms in ops:
            if kind == "set":
                pipe.set(KEY_PREFIX + "e:" + key, value, px=ttl_ms)
            else:
                self._release(keys=[KEY_PREFIX + "l:" + key], args=[value], client=pipe)
        pipe.execute()
        self.counters.writes += sum(1 for op in ops if op[0] == "set")

    def _written(self, future: concurrent.futures.Future[None]) -> None:
        with self._lock:
            self._inflight.discard(future)
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            self.counters.write_errors += 1
            self._failed(exc)

    def wait_for_writes(self, timeout: float | None = None) -> bool:
        """Flush and wait (bounded) until every queued write is done; whether all finished."""
        self.flush()
        with self._lock:
            inflight = list(self._inflight)
        bound = timeout if timeout is not None else self.connect_timeout + 2 * self.op_timeout
        _, not_done = concurrent.futures.wait(inflight, timeout=bound)
        return not not_done

    # -- administration ----------------------------------------------------------------------

    def clear(self) -> int:
        """Delete every memo key (all versions) from the server; how many. Raises ``RemoteError``."""
        if self.mode != READ_WRITE:
            raise RemoteError(f"{self.address} is read-only here; not clearing it")
        try:
            removed = 0
            batch: list[bytes] = []
            for name in self._client.scan_iter(match=CLEAR_PATTERN, count=1000):
                batch.append(name)
                if len(batch) >= 1000:
                    removed += int(self._client.unlink(*batch))
                    batch = []
            if batch:
                removed += int(self._client.unlink(*batch))
            return removed
        except Exception as exc:
            raise RemoteError(
                f"cannot clear {self.address}: {self._clean(' '.join(str(exc).split()) or type(exc).__name__)}"
            ) from None

    def stats(self) -> dict[str, Any]:
        """The address (redacted), mode, state and this run's counters."""
        return {
            "address": self.address,
            "mode": self.mode,
            "available": self.available,
            "reason": self.off_reason,
            **asdict(self.counters),
        }

    def close(self) -> None:
        """Send queued writes (bounded wait), then release the connections and threads."""
        if self._closed:
            return
        with contextlib.suppress(Exception):
            self.wait_for_writes()
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(Exception):
            self._client.close()

    def __repr__(self) -> str:
        return f"RemoteTier({self.address}, mode={self.mode}, available={self.available})"


class RemoteError(Exception):
    """An explicit remote operation (``memo cache clear --remote``) failed; the message is redacted."""


def remote_from_environment(
    url: str | None = None,
    mode: str | None = None,
    *,
    configured: str | None = None,
    **options: Any,
) -> RemoteTier | None:
    """The shared tier this run should use, or None.

    The address: ``url`` (``--remote``), else ``$VALIDATION_CACHE_REMOTE``, else
    ``configured`` (a config file's address, never with a password). The mode: ``mode``,
    else ``$VALIDATION_CACHE_REMOTE_MODE``, else read-write; read-only without
    ``$VALIDATION_CACHE_SIGNING_KEY``. The password: the URL's, else
    ``$VALIDATION_CACHE_REMOTE_PASSWORD`` if the address came from ``url`` or the
    environment (``credentials_for``). Without a signing or a verify key the tier is off
    with one warning. ValueError for a bad address, mode or key.
    """
    address, from_user = chosen_address(url, configured)
    if not address:
        return None
    check_address(address)
    chosen_mode = check_mode(mode or os.environ.get(MODE_ENV) or READ_WRITE)
    try:
        import cryptography  # noqa: F401
        import redis  # noqa: F401
    except ImportError as exc:
        log.warning(
            "memo remote cache: %s is off: %s is not installed (pip install 'memo-validators[redis]')",
            redact(address),
            exc.name,
        )
        return None
    signer = signer_from_environment()
    if signer is None:
        log.warning(
            "memo remote cache: %s is off: neither %s nor %s is set (shared entries are always signed; "
            "`memo cache keygen` makes a pair)",
            redact(address),
            SIGNING_KEY_ENV,
            VERIFY_KEYS_ENV,
        )
        return None
    if chosen_mode == READ_WRITE and not signer.can_sign and (mode or os.environ.get(MODE_ENV)):
        log.warning(
            "memo remote cache: %s is read-only: writing needs %s (a reader's public keys cannot sign)",
            redact(address),
            SIGNING_KEY_ENV,
        )
    return RemoteTier(address, signer, mode=chosen_mode, password=credentials_for(address, from_user), **options)


def chosen_address(url: str | None, configured: str | None) -> tuple[str | None, bool]:
    """The shared cache's address and whether the user chose it (``--remote`` or the environment), not the checkout."""
    given = url or os.environ.get(REMOTE_ENV)
    if given:
        return given, True
    return configured or None, False


def credentials_for(address: str, from_user: bool) -> str | None:
    """``$VALIDATION_CACHE_REMOTE_PASSWORD`` if it may go to ``address``: only where the user sent memo.

    An address only the checkout's config names gets no password (one warning if one was
    set): a cloned repository must not pick the server the team's password is sent to.
    """
    password = os.environ.get(PASSWORD_ENV) or None
    if password is None or from_user:
        return password
    log.warning(
        "memo remote cache: %s comes from the project's config only, so %s is not sent to it "
        "(name the server in %s or --remote to send it)",
        redact(address),
        PASSWORD_ENV,
        REMOTE_ENV,
    )
    return None
