"""What a ``ValidationCache`` is given and keeps count of: its directory, expiry, counters.

Apart from ``memo.cache`` so that the parts of the cache (and a module that only needs
the cache directory or the meaning of a ``ttl``) can use them without importing the
store (diskcache, sqlite3).

Expiry (``ttl``, seconds): a positive number keeps an entry that long, ``None`` keeps it
until it is evicted or cleared, and ``0`` stores nothing at all. Entries are keyed by
everything a result depends on, so expiry only bounds how long unused entries linger.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TTL = 86400
DEFAULT_SIZE_LIMIT = 2**30


class _CacheTTL(enum.Enum):
    """The type of ``CACHE_TTL``: "whatever the cache's own ``ttl`` is"."""

    TOKEN = "the cache's ttl"  # nosec B105 - a sentinel's label, not a password

    def __repr__(self) -> str:
        return "CACHE_TTL"


CACHE_TTL = _CacheTTL.TOKEN
"""As a ``ttl`` argument: use the ``ttl`` the cache was made with (the default everywhere)."""

TTL = int | None | _CacheTTL


def check_ttl(ttl: object, *, allow_default: bool = True) -> None:
    """Raise ``ValueError`` unless ``ttl`` is a non-negative int, None (or ``CACHE_TTL``)."""
    if ttl is None or (allow_default and ttl is CACHE_TTL):
        return
    if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
        raise ValueError(
            f"ttl must be a non-negative number of seconds (0: store nothing) or None (never expire), not {ttl!r}"
        )


def resolve_ttl(ttl: TTL, default: int | None) -> int | None:
    """``ttl`` itself, or ``default`` (the cache's own) for ``CACHE_TTL``."""
    return default if isinstance(ttl, _CacheTTL) else ttl


def default_cache_dir() -> Path:
    """``$VALIDATION_CACHE_DIR``, else ``$XDG_CACHE_HOME/validation``, else ``~/.cache/validation``."""
    explicit = os.environ.get("VALIDATION_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "validation"
    return Path.home() / ".cache" / "validation"


@dataclass
class CacheCounters:
    """What this process's cache did, for ``stats()``; shared by the parts that do it."""

    hits: int = 0
    misses: int = 0
    sets: int = 0
    errors: int = 0
    rejected: int = 0
    """Entries that failed their checks (pickled, malformed, foreign key) and were dropped."""
