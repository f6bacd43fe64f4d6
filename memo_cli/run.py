"""``memo run``: validate a tree and report, with exit codes a CI job can act on."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import memo
from memo.cli.errors import EXIT_FAILED, EXIT_PASSED, UsageError, one_line
from memo.cli.formats import FORMATS as FORMATS  # re-exported: its old home
from memo.cli.formats import json as json_format
from memo.cli.formats import sarif, text
from memo.cli.output import write_report, write_text
from memo.cli.progress import progress_bar
from memo.engine import Engine, EngineError, Report, find_root, registry, resolve
from memo.engine import config as engine_config
from memo.engine.plugins import not_loaded
from memo.engine.trust import TRUST_ENV, Trust, resolve_trust
from memo.validators import Validator


def dimension_names(values: list[str] | None) -> list[str] | None:
    """``--dimension a --dimension b,c`` as ``[a, b, c]``; None when none were given."""
    if not values:
        return None
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    if not names:
        raise UsageError("--dimension needs at least one name")
    return names


def statistics(report: Report) -> str:
    """``--statistics``: how many findings of each code, most frequent first, as ruff prints them."""
    counts = Counter((finding.code, result.dimension) for result in report.notable() for finding in result.findings)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "".join(f"{count:>6}  {code:<12} [{dimension}]\n" for (code, dimension), count in rows)


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
        raise EngineError(
            f"{one_line(exc)}; the project's validators ({', '.join(left_out)}) are not loaded: "
            f"pass --trust-project (or {TRUST_ENV}=1) to load them"
        ) from None


def run(args: argparse.Namespace, engine_class: type[Engine] = Engine) -> int:
    """Validate ``args.paths`` and write the report; the exit status."""
    root, paths = find_root(args.paths)
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
    try:
        with progress_bar(sys.stdout.isatty() and sys.stderr.isatty() and not args.quiet) as show:
            engine.progress = show
            report = asyncio.run(engine.run(paths))
    except EngineError as exc:
        raise UsageError(one_line(exc)) from None
    finally:
        engine.close()
        if cache is not None:
            cache.close()
        # Stop the worker pool now, not in the interpreter's exit hooks, which would wait
        # on a worker that never returns.
        from memo.validators import shutdown_workers

        shutdown_workers()
    if report.files == 0:
        print("memo: warning: no Python files found to check", file=sys.stderr)
    _write(report, args)
    if args.exit_zero:
        return EXIT_PASSED
    return EXIT_PASSED if report.passed else EXIT_FAILED


def _write(report: Report, args: argparse.Namespace) -> None:
    if args.format == "json":
        write_report(lambda out: json_format.write_json(report, out), args.output)
    elif args.format == "sarif":
        write_text(sarif.to_sarif(report), args.output)
    elif args.statistics:
        write_text(statistics(report) + ("" if args.quiet else text.summary_line(report) + "\n"), args.output)
    elif args.quiet:
        write_text(text.to_text(report, Path.cwd(), summary=False), args.output)
    else:
        write_text(text.to_text(report), args.output)
    if args.output is not None and not args.quiet:
        print(text.summary_line(report), file=sys.stderr)
