"""``memo cache stats``, ``clear`` and ``keygen``: what persists on disk, emptying it, and keys.

``stats`` and ``clear`` speak of the cache directory itself, never of this process's
counters (a fresh command has looked nothing up). A cache that is disabled, untrusted or
cannot be opened says so and why, and ``clear`` then exits 1: it did not do what was asked.
``keygen`` prints a new key pair for the shared tier (``memo.signing``), or with
``--local`` a local key (``memo.localauth``), as environment assignments.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from memo import ValidationCache, caching_enabled
from memo.cli.errors import EXIT_FAILED, EXIT_PASSED, UsageError, one_line


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _bytes(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")


def clear_remote(url: str) -> None:
    """``memo cache clear --remote``: empty the shared tier too, only when asked by name."""
    from memo.engine import config as engine_config
    from memo.engine.errors import EngineError
    from memo.remote import RemoteError, remote_from_environment

    try:
        configured = engine_config.remote_address(engine_config.project_table(Path.cwd()))
        remote = remote_from_environment(url or None, configured=configured)
    except (ValueError, EngineError) as exc:
        raise UsageError(one_line(exc)) from None
    if remote is None:
        raise UsageError(
            "--remote: no shared cache is configured "
            "(or neither VALIDATION_CACHE_SIGNING_KEY nor VALIDATION_CACHE_VERIFY_KEYS is set)"
        )
    try:
        removed = remote.clear()
    except RemoteError as exc:
        raise UsageError(one_line(exc)) from None
    finally:
        remote.close()
    print(f"removed {_entries(removed)} from {remote.address}")


def describe(cache: ValidationCache) -> dict[str, Any]:
    """The cache's directory, its state and why, and what it holds by dimension."""
    if not caching_enabled():
        return {
            "directory": None if cache.directory is None else str(cache.directory),
            "state": "disabled",
            "enabled": False,
            "available": False,
            "reason": "caching is disabled by VALIDATION_CACHE_ENABLED; the directory was not read",
            "entries": None,
            "size_bytes": None,
            "dimensions": {},
        }
    usage = cache.usage()
    reason = None if usage is not None else cache.unavailable_reason or cache.last_failure or "not available"
    usage = usage or {}
    return {
        "directory": None if cache.directory is None else str(cache.directory),
        "state": "enabled" if reason is None else "unavailable",
        "enabled": True,
        "available": reason is None,
        "reason": reason,
        "entries": sum(entries for entries, _ in usage.values()),
        "size_bytes": sum(size for _, size in usage.values()),
        "dimensions": {name: {"entries": entries, "size_bytes": size} for name, (entries, size) in usage.items()},
    }


class _StoreWarnings(logging.Filter):
    """Drops the store's own warnings: these commands report the cache's state themselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("memo cache:")


@contextlib.contextmanager
def _quietly(cache_dir: str | None) -> Iterator[ValidationCache]:
    """The cache at ``cache_dir``, its store warnings left to this command's report (others still shown).

    The filter is taken off again when the command is done: a process that runs the command
    in-process (a test, an embedding program) keeps seeing the cache's warnings afterwards.
    """
    quiet = _StoreWarnings()
    logger = logging.getLogger("memo")
    logger.addFilter(quiet)
    try:
        with ValidationCache(cache_dir) as cache:
            yield cache
    finally:
        logger.removeFilter(quiet)


def stats(args: argparse.Namespace) -> int:
    with _quietly(args.cache_dir) as cache:
        described = describe(cache)
    if args.format == "json":
        print(json.dumps(described, indent=2))
    else:
        print(f"directory: {described['directory']}")
        state = described["state"]
        print(f"state: {state}" + (f" ({described['reason']})" if described["reason"] else ""))
        if described["entries"] is None:
            print("entries: not read")
        else:
            print(f"entries: {described['entries']} ({_bytes(described['size_bytes'])})")
        for name, held in described["dimensions"].items():
            print(f"  {name}: {_entries(held['entries'])}, {_bytes(held['size_bytes'])}")
    return EXIT_PASSED if described["state"] != "unavailable" else EXIT_FAILED


def clear(args: argparse.Namespace) -> int:
    with _quietly(args.cache_dir) as cache:
        described = describe(cache)
        if described["state"] != "enabled":
            print(f"memo: nothing cleared: {described['reason']}", file=sys.stderr)
            return EXIT_FAILED
        removed = cache.invalidate_all()
        if not cache.available:
            print(f"memo: nothing cleared: {cache.unavailable_reason}", file=sys.stderr)
            return EXIT_FAILED
    print(f"removed {_entries(removed)} from {described['directory']}")
    if args.remote is not None:
        clear_remote(args.remote)
    return EXIT_PASSED


def keygen(args: argparse.Namespace) -> int:
    """Print a new Ed25519 pair (or, with ``--local``, a local key) as environment assignments.

    The private key goes only to trusted writers; the public key to every reader. The key
    id (the one entries name) goes to stderr, so stdout can be kept as an env file.
    """
    if args.local:
        from memo.credentials import LOCAL_KEY_ENV
        from memo.localauth import new_key_text

        print(f"{LOCAL_KEY_ENV}={new_key_text()}")
        return EXIT_PASSED
    from memo.credentials import SIGNING_KEY_ENV, VERIFY_KEYS_ENV
    from memo.signing import generate

    try:
        private, public, kid = generate()
    except ImportError:
        raise UsageError("keygen needs cryptography: pip install 'memo-validators[redis]'") from None
    print(f"{SIGNING_KEY_ENV}={private}")
    print(f"{VERIFY_KEYS_ENV}={public}")
    print(
        f"memo: key id {kid}; give {SIGNING_KEY_ENV} to trusted writers only, {VERIFY_KEYS_ENV} to every reader",
        file=sys.stderr,
    )
    return EXIT_PASSED


def cache(args: argparse.Namespace) -> int:
    """Show what the cache holds, empty it (the shared tier only with ``--remote``), or make keys."""
    if args.cache_command == "keygen":
        return keygen(args)
    return clear(args) if args.cache_command == "clear" else stats(args)
