"""``memo cache stats`` and ``memo cache clear``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from memo_cli.errors import UsageError, one_line
from memo_engine import Engine


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def clear_remote(url: str) -> None:
    """``memo cache clear --remote``: empty the shared tier too, only when asked by name."""
    from memo.remote import RemoteError, remote_from_environment
    from memo_engine import config as engine_config
    from memo_engine.errors import EngineError

    try:
        configured = engine_config.remote_address(engine_config.project_table(Path.cwd()))
        remote = remote_from_environment(url or None, configured=configured)
    except (ValueError, EngineError) as exc:
        raise UsageError(one_line(exc)) from None
    if remote is None:
        raise UsageError("--remote: no shared cache is configured (or VALIDATION_CACHE_SECRET is not set)")
    try:
        removed = remote.clear()
    except RemoteError as exc:
        raise UsageError(one_line(exc)) from None
    finally:
        remote.close()
    print(f"removed {_entries(removed)} from {remote.address}")


def cache(args: argparse.Namespace) -> int:
    """Show what the cache holds, or empty it (the shared tier only with ``--remote``)."""
    with Engine(validators=[], cache_dir=args.cache_dir) as engine:
        if args.cache_command == "clear":
            print(f"removed {_entries(engine.clear_cache())}")
            if args.remote is not None:
                clear_remote(args.remote)
            return 0
        stats = engine.cache_stats()
    if args.format == "json":
        print(json.dumps(stats, indent=2))
    else:
        for key, value in stats.items():
            print(f"{key}: {value}")
    return 0
