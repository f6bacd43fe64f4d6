"""The library's own exceptions.

Backend errors (sqlite3, OSError, diskcache.Timeout) are translated at the store's
edge, so callers only ever see this small tree::

    MemoError
    ├── StoreError              the store could not read or write (a miss, never a failure)
    │   ├── StoreUnavailableError  the store cannot be used at all (untrusted or unopenable directory)
    │   ├── StoreBusyError      another process holds the database's write lock: worth another try soon
    │   └── UnsafeEntryError    an entry that is not ours: pickled, wrong schema, wrong key
    └── ConfigHashError         a config that cannot be canonicalised (also a TypeError)
"""

from __future__ import annotations


class MemoError(Exception):
    """Base class of every exception memo raises on purpose."""


class StoreError(MemoError):
    """The store failed to read or write; the caller treats it as a miss."""


class StoreUnavailableError(StoreError):
    """The store cannot be used at all this run: its directory is untrusted or cannot be opened."""


class StoreBusyError(StoreError):
    """Another process held the database's write lock for longer than the store waits; try again soon."""


class UnsafeEntryError(StoreError):
    """A stored entry failed its checks (pickled, foreign schema, key mismatch)."""


class ConfigHashError(MemoError, TypeError):
    """A config value has no canonical form; the message names its key path."""
