"""``memo explain PATH``: for each dimension, would this file be served from the cache, and if not, why.

It builds each validator exactly as ``memo run`` would (same root, same config slice,
same cache) and asks ``memo.explain``, which reads without writing or counting.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import memo
from memo import ValidationCache
from memo.cli.errors import EXIT_PASSED, UsageError, one_line
from memo.cli.run import dimension_names, resolve_dimensions
from memo.engine import Engine, EngineError, find_root, registry
from memo.engine import config as engine_config
from memo.engine.trust import resolve_trust


def explain(args: argparse.Namespace) -> int:
    """Print hit, miss or uncached per dimension for ``args.path``, with the parts that changed."""
    path = os.path.abspath(args.path)
    if not os.path.lexists(path):
        raise UsageError(f"{args.path}: no such file")
    if not os.path.isfile(path):
        raise UsageError(f"{args.path}: not a file (memo explain takes one file)")
    root, _ = find_root([path])
    try:
        config = engine_config.load(root, args.config, {})
        names = dimension_names(args.dimension)
        trust = resolve_trust(args.trust_project)
        known = registry(config, root, trust)
        validators = None if names is None else resolve_dimensions(names, known, config, trust)
        cache = ValidationCache(args.cache_dir)
        engine = Engine(root, config, validators, cache=cache, trust_project=trust)
    except EngineError as exc:
        raise UsageError(one_line(exc)) from None
    explanations = []
    with cache, memo.bind_cache(cache, root=root):
        for cls in engine.validators:
            if not cls.applies_to(Path(path)):
                continue
            explanations.append(memo.explain(cls(Path(path), engine.config_for(cls), root)))
    if args.format == "json":
        print(json.dumps([explanation.to_dict() for explanation in explanations], indent=2))
        return EXIT_PASSED
    shown = os.path.relpath(path)
    if not explanations:
        print(f"{shown}: no dimension checks this file")
    for explanation in explanations:
        print(f"{shown}: {explanation.dimension}: {explanation.reason}")
    return EXIT_PASSED
