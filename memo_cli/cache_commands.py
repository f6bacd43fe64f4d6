"""``memo cache stats`` and ``memo cache clear``."""

from __future__ import annotations

import argparse
import json

from memo_engine import Engine


def cache(args: argparse.Namespace) -> int:
    """Show what the cache holds, or empty it."""
    with Engine(validators=[], cache_dir=args.cache_dir) as engine:
        if args.cache_command == "clear":
            removed = engine.clear_cache()
            print(f"removed {removed} entr{'y' if removed == 1 else 'ies'}")
            return 0
        stats = engine.cache_stats()
    if args.format == "json":
        print(json.dumps(stats, indent=2))
    else:
        for key, value in stats.items():
            print(f"{key}: {value}")
    return 0
