"""``memo run``: validate a tree and report, with exit codes a CI job can act on."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import memo
from memo import ValidationResult, witness
from memo.cli import emit, fastpath
from memo.cli.emit import statistics as statistics  # re-exported: its old home
from memo.cli.errors import UsageError, one_line
from memo.cli.fastpath import Attempt
from memo.cli.formats import FORMATS as FORMATS  # re-exported: its old home
from memo.cli.progress import progress_bar
from memo.engine import Engine, EngineError, Report, find_root, registry, resolve
from memo.engine import config as engine_config
from memo.engine.filesets import FileSet
from memo.engine.plugins import not_loaded
from memo.engine.resultlog import ResultLog
from memo.engine.trust import TRUST_ENV, Trust, resolve_trust
from memo.manifest import Manifest, Verification
from memo.validators import Validator
from memo.witness import Witness


def dimension_names(values: list[str] | None) -> list[str] | None:
    """``--dimension a --dimension b,c`` as ``[a, b, c]``; None when none were given."""
    if not values:
        return None
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    if not names:
        raise UsageError("--dimension needs at least one name")
    return names


def shared_cache(args: argparse.Namespace, config: dict[str, Any]) -> memo.ValidationCache | None:
    """The run's cache with the shared tier behind it, if one is configured; None otherwise.

    Address: ``--remote``, ``$VALIDATION_CACHE_REMOTE``, then ``remote`` in the config.
    """
    from memo.remote import remote_from_environment

    if args.no_cache or not memo.CACHE_AVAILABLE or not memo.caching_enabled():
        return None
    try:
        configured = engine_config.remote_address(config)
        remote = remote_from_environment(
            getattr(args, "remote", None), getattr(args, "remote_mode", None), configured=configured
        )
    except ValueError as exc:
        raise UsageError(one_line(exc)) from None
    return None if remote is None else memo.ValidationCache(args.cache_dir, remote=remote)


def resolve_dimensions(
    names: list[str], known: dict[str, type[Validator]], config: dict[str, Any], trust: Trust
) -> list[type[Validator]]:
    """The classes for ``names``; an unknown name while the project's validators are not loaded says so."""
    try:
        return resolve(names, known)
    except EngineError as exc:
        left_out = not_loaded(config, trust)
        if not left_out:
            raise
        unknown = [name for name in names if name not in known]
        declared = [f"[checkers.{name}]" for name in unknown if f"[checkers.{name}]" in left_out]
        if declared and len(declared) == len(unknown):
            # The name is known from the config alone: "unknown" and a near built-in would mislead.
            raise EngineError(
                f"the project declares {', '.join(declared)} in [tool.memo], not loaded without trust: "
                f"pass --trust-project (or {TRUST_ENV}=1) to run it"
            ) from None
        raise EngineError(
            f"{one_line(exc)}; the project's validators ({', '.join(left_out)}) are not loaded: "
            f"pass --trust-project (or {TRUST_ENV}=1) to load them"
        ) from None


def run(args: argparse.Namespace, engine_class: type[Engine] = Engine, attempt: Attempt | None = None) -> int:
    """Validate ``args.paths`` and write the report; the exit status.

    ``attempt``: what the fast path found (``memo.cli.fastpath``). With a manifest whose
    witnesses all hold, only the changed files' checks run (and the checks no witness
    vouches for); else every check runs. Either way the manifest is recorded again.
    """
    started_ns = attempt.started_ns if attempt is not None else time.time_ns()
    root, paths = find_root(args.paths)
    engine, cache = _engine(args, engine_class, root)
    recording = attempt is not None and engine_class is Engine and engine.cache is not None
    manifest = attempt.manifest if attempt is not None else None
    verification = attempt.verification if attempt is not None else None
    partly = recording and _replays_partly(manifest, verification, engine)
    observed = witness.Observed()
    replayed: _Replayed | None = None
    surroundings: witness.Observed | None = None
    if recording and not partly:
        from memo.engine import recording as records

        # What the files, config, code and tools stand on, and its state before any check runs.
        surroundings = records.run_witnesses(
            witness.Observed(), root, paths, os.getcwd(), args.config, engine.validators, fastpath.cache_directory(args)
        )
        surroundings.fill()
    try:
        with progress_bar(_shows_progress(args)) as show:
            engine.progress = show
            with witness.recording(observed) if recording else contextlib.nullcontext(observed):
                if partly:
                    assert manifest is not None and verification is not None  # nosec B101 - partly says so
                    replayed = asyncio.run(_partly(engine, paths, manifest, verification, started_ns))
                    report = replayed.report
                else:
                    report = asyncio.run(engine.run(paths))
    except EngineError as exc:
        raise UsageError(one_line(exc)) from None
    finally:
        _close(engine, cache)
    if recording and attempt is not None:
        _file_set_witnesses(observed, engine, fastpath.cache_directory(args))
        _record(attempt, engine, report, _merged(surroundings, observed), replayed, started_ns)
    return emit.finish(report, args)


def _shows_progress(args: argparse.Namespace) -> bool:
    """A progress bar only where someone watches a terminal and did not ask for quiet."""
    return sys.stdout.isatty() and sys.stderr.isatty() and not args.quiet


def _close(engine: Engine, cache: memo.ValidationCache | None) -> None:
    engine.close()
    if cache is not None:
        cache.close()
    # Stop the worker pool now, not in the interpreter's exit hooks, which would wait
    # on a worker that never returns.
    from memo.validators import shutdown_workers

    shutdown_workers()


def _merged(surroundings: witness.Observed | None, observed: witness.Observed) -> witness.Observed:
    """What the run started with stands over what was seen later."""
    if surroundings is None:
        return observed
    surroundings.merge(observed)
    return surroundings


def _engine(
    args: argparse.Namespace, engine_class: type[Engine], root: Path
) -> tuple[Engine, memo.ValidationCache | None]:
    """The run's engine and the shared cache it was given (closed by the run); a bad config is a usage error."""
    try:
        config = engine_config.load(root, args.config, engine_class.default_config)
        names = dimension_names(args.dimension)
        trust = resolve_trust(getattr(args, "trust_project", None))
        # The project's validators, if trusted, are imported here, before the shared cache
        # is made: the writer keys leave the process first (memo.engine.trust).
        known = registry(config, root, trust)
        validators = None if names is None else resolve_dimensions(names, known, config, trust)
        cache = shared_cache(args, config)
        engine = engine_class(
            root,
            config,
            validators,
            cache,
            jobs=args.jobs,
            cache_dir=args.cache_dir,
            use_cache=not args.no_cache,
            trust_project=trust,
        )
    except EngineError as exc:
        raise UsageError(one_line(exc)) from None
    return engine, cache


def _replays_partly(manifest: Manifest | None, verification: Verification | None, engine: Engine) -> bool:
    """Whether only the changed files' checks need run: every witness held and the lanes are this run's."""
    return (
        manifest is not None
        and verification is not None
        and verification.witnesses_hold
        and manifest.unvouched is None
        and [lane.dimension for lane in manifest.lanes if lane.per_file]
        == [cls.dimension for cls in engine.validators if cls.per_file and cls.dimension in _dims(manifest)]
    )


def _file_set_witnesses(observed: witness.Observed, engine: Engine, cache_dir: str) -> None:
    """What decided each dimension's file set (``memo.engine.filesets``): witnesses of the manifest too.

    A set read while a witness was changing needs nothing more: the manifest vouches for
    each witness by its own rule (settled before the run, or the same at its start and end).
    """
    for found in engine.file_sets.values():
        if found is None:
            continue
        for path, signature in found.witnesses:
            if path == cache_dir or path.startswith(cache_dir + os.sep):
                continue  # the run writes there itself; nothing in it is checked
            if isinstance(signature, str):  # a kind, as the set saw it ("-", "o", "d", "f")
                observed.add_name(os.path.dirname(path), os.path.basename(path), signature)
            elif os.path.isdir(path):
                observed.add_listing(path)
            else:
                observed.add_file(path)


def _dims(manifest: Manifest) -> set[str]:
    return {lane.dimension for lane in manifest.lanes}


@dataclass
class _Replayed:
    """A run answered partly from its manifest: the report, and the lanes it was laid out in."""

    report: Report
    lanes: list[tuple[str, bool, Sequence[str | None]]]
    unchanged: dict[str, int]
    checked: int


async def _partly(
    engine: Engine, paths: list[str] | None, manifest: Manifest, verification: Verification, started_ns: int
) -> _Replayed:
    """Run the changed files' checks, and every check no witness vouches for; the rest from the manifest.

    Each check runs once: the lanes no witness vouches for run over every file, the
    changed files included, so the changed files' own pass leaves them out. (Run in both,
    a changed file's check ran, stored its entry, and was then served that very entry,
    reported as a hit though this run computed it.)
    """
    overrides: dict[tuple[int, int], ValidationResult] = {}
    changed = sorted(set(verification.changed))
    engine.file_sets = await _passes(engine, paths, manifest, changed, overrides)
    log, files, lanes = fastpath.replay(manifest, overrides)
    report = fastpath.report_of(manifest, log, files, (time.time_ns() - started_ns) / 1e9)
    skipped = set(changed)
    unchanged = {path: number for number, path in enumerate(manifest.files.paths) if number not in skipped}
    return _Replayed(report, lanes, unchanged, len(overrides))


async def _passes(
    engine: Engine,
    paths: list[str] | None,
    manifest: Manifest,
    changed: list[int],
    overrides: dict[tuple[int, int], ValidationResult],
) -> dict[type[Validator], FileSet | None]:
    """The changed files' pass (lanes a witness vouches for) and the pass over every file (the rest).

    Fills ``overrides`` with what ran; returns what decided every lane's files, for the
    manifest's witnesses.
    """
    lane_of = {lane.dimension: number for number, lane in enumerate(manifest.lanes)}
    index_of = {path: number for number, path in enumerate(manifest.files.paths)}
    always = {lane.dimension for lane in manifest.lanes if not lane.replayed}
    vouched = [cls for cls in engine.validators if cls.dimension not in always]
    sets: dict[type[Validator], FileSet | None] = {}
    if changed and vouched:
        own = engine if len(vouched) == len(engine.validators) else _narrowed(engine, vouched)
        _collect(await own.run([manifest.files.paths[number] for number in changed]), lane_of, index_of, overrides)
        sets.update(own.file_sets)
    if always:
        other = _narrowed(engine, [cls for cls in engine.validators if cls.dimension in always])
        _collect(await other.run(paths), lane_of, index_of, overrides)
        sets.update(other.file_sets)
    return sets


def _narrowed(engine: Engine, classes: list[type[Validator]]) -> Engine:
    """An engine like ``engine`` (its root, config, cache, jobs, trust) running only ``classes``."""
    return Engine(
        engine.root,
        engine.config,
        classes,
        engine.cache,
        jobs=engine.jobs,
        use_cache=True,
        progress=engine.progress,
        trust_project=engine.trust,
    )


def _collect(
    report: Report,
    lane_of: dict[str, int],
    index_of: dict[str, int],
    overrides: dict[tuple[int, int], ValidationResult],
) -> None:
    results = report.results
    if not isinstance(results, ResultLog):
        raise EngineError("a partial run needs the engine's result log")
    for index in range(results.recorded + sum(1 for _ in results.missing())):
        dimension, path = results.check(index)
        result = results.at(index)
        if result is None:
            continue
        number = lane_of[dimension]
        overrides[(number, -1 if path is None else index_of[os.fspath(path)])] = result


def _record(
    attempt: Attempt,
    engine: Engine,
    report: Report,
    observed: witness.Observed,
    replayed: _Replayed | None,
    started_ns: int,
) -> None:
    """Write this run's manifest; a manifest that cannot be made or stored is only a lost shortcut."""
    from memo.engine import recording

    try:
        if not isinstance(report.results, ResultLog):
            return
        previous = attempt.manifest
        if replayed is not None and previous is not None:
            for held in previous.witnesses:
                _carry(observed, held)
            lanes = [(dimension, per_file, list(lane_paths)) for dimension, per_file, lane_paths in replayed.lanes]
            made = recording.build(
                root=engine.root,
                dimension_names=report.dimension_names,
                lanes=lanes,  # type: ignore[arg-type]
                log=report.results,
                observed=observed,
                started_ns=started_ns,
                previous=previous,
                verification=attempt.verification,
                unchanged=replayed.unchanged,
            )
            made.served = "partly"
            fastpath.done(
                "partly", f"{replayed.checked} checks ran, the rest of {report.files} files from the manifest"
            )
        else:
            made = recording.build(
                root=engine.root,
                dimension_names=report.dimension_names,
                lanes=recording.lanes_of(engine.planned),
                log=report.results,
                observed=observed,
                started_ns=started_ns,
                previous=previous,
                verification=attempt.verification,
            )
            made.served = "checks"
            why = (
                "no manifest"
                if previous is None
                else f"{(attempt.verification and attempt.verification.changed_witness) or 'its lanes'} changed"
            )
            fastpath.done("checks", f"every check ran ({why})")
        attempt.store.save(attempt.key, made)
    except Exception:  # never fail a run over its shortcut
        return


def _carry(observed: witness.Observed, held: Witness) -> None:
    """A witness of the previous manifest, still held: its value stood when this run started."""
    if held.kind == "file":
        observed.add_file(held.path)
    elif held.kind == "names":
        for name in held.names:
            observed.add_name(held.path, name)
    elif held.kind == "tracked":
        observed.add_tracked(held.path, held.names[0])
    else:
        observed.add_listing(held.path)
