"""``memo explain PATH``: for each dimension, would this file be served from the cache, and if not, why.

It builds each validator exactly as ``memo run`` would (same root, same config slice,
same cache) and asks ``memo.explain``, which reads without writing or counting.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import memo
from memo import ValidationCache
from memo.cli.errors import EXIT_PASSED, UsageError, one_line
from memo.cli.run import dimension_names, resolve_dimensions
from memo.engine import Engine, EngineError, find_root, registry
from memo.engine import config as engine_config
from memo.engine.trust import resolve_trust

if TYPE_CHECKING:
    from memo.filetable import FileEntry
    from memo.manifest import Manifest

_TOO_RECENT = "changed during or just before that run, too recently for its stat to vouch for it"
"""Git's racy rule: a recording cannot vouch for what changed within its window; not an edit since."""


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
    if cache.directory is not None:
        for line in manifest_lines(cache.directory, str(root), path):
            print(f"{shown}: manifest: {line}")
    return EXIT_PASSED


def manifest_lines(cache_dir: Path, root: str, path: str) -> list[str]:
    """What each run manifest of ``root`` in ``cache_dir`` says of ``path``: served from it, and would be again."""
    from memo.cli.fastpath import local_sealer
    from memo.manifest import ManifestStore

    store = ManifestStore(cache_dir, local_sealer())
    lines = []
    for key in store.run_keys():
        manifest = store.load(key)
        if manifest is None or manifest.root != os.path.abspath(root):
            continue
        try:
            row = manifest.files.paths.index(path)
        except ValueError:
            continue
        entry = manifest.files[row]
        dimensions = ", ".join(
            lane.dimension for lane in manifest.lanes if entry.lanes >> manifest.lanes.index(lane) & 1
        )
        how = {
            "manifest": "the last run of this configuration was served from its manifest, this file included",
            "partly": "the last run of this configuration ran only what changed, the rest served from its manifest",
        }.get(manifest.served, "the last run of this configuration ran its checks and recorded a manifest")
        lines.append(f"{how} ({dimensions}); {_next_run(manifest, entry, row)}")
    return lines


def _next_run(manifest: Manifest, entry: FileEntry, row: int) -> str:
    """What the next run does for ``entry``, and why: a witness or the file changed, or was too recent to vouch for."""
    from memo.witness import CHANGED

    verification = manifest.verify()
    if not verification.witnesses_hold:
        witness = next((w for w in manifest.witnesses if w.path == verification.changed_witness), None)
        if witness is not None and witness.value == CHANGED:
            return f"{verification.changed_witness} {_TOO_RECENT}: the next run runs every check"
        return f"{verification.changed_witness} has changed since: the next run runs every check"
    if row in verification.changed:
        if entry.settled:
            return "this file has changed since: the next run runs its checks"
        return f"this file {_TOO_RECENT}: the next run runs its checks"
    return "unchanged since: the next run serves it without planning a key"
