"""The fast path of ``memo run``: an unchanged tree answered from the last run's manifest.

It runs before anything heavy is imported (asyncio, wrapt, diskcache, the validators):
``memo.cli.app`` asks ``attempt`` first and, when every file and witness is unchanged,
``serve`` writes the stored report and the command is done. Otherwise the attempt (what
changed, what was observed) goes on to ``memo.cli.run``, which runs only the checks
that must run and records the manifest again.

The run key names one manifest: everything that may change a result and is not a
witness (``memo.witness``) on disk. It holds memo's version and the manifest schema, the
interpreter (its path, its version, ``sys.path``), the working directory, the options
that change results (the paths named, ``--dimension``, ``--config``, ``--cache-dir``)
and the environment that may (``VALIDATION_CACHE_*`` switches, ``PATH``, ``HOME``,
``XDG_CONFIG_HOME``, ``PYTHON*``, ``GIT_*``, ``RUFF_*``; never a secret). The
report's format, ``--output``, ``--quiet``, ``--statistics``, ``--jobs`` and
``--exit-zero`` change how a report is written, not what it says.

``VALIDATION_CACHE_MANIFEST=off`` turns the fast path and the manifest off;
``VALIDATION_CACHE_MANIFEST_TRACE=1`` prints one line to stderr saying how the run was
answered (``manifest``, ``partly``, ``checks``), as ``LAST`` records it in-process.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import memo
from memo.manifest import SCHEMA, Manifest, ManifestStore, Sealer, Verification

if TYPE_CHECKING:
    from memo.engine.report import Report
    from memo.engine.resultlog import ResultLog
    from memo.results import ValidationResult

SWITCH_ENV = "VALIDATION_CACHE_MANIFEST"
TRACE_ENV = "VALIDATION_CACHE_MANIFEST_TRACE"
_ENV_PREFIXES = ("VALIDATION_CACHE_", "PYTHON", "GIT_", "RUFF_", "BANDIT", "MYPY")
_ENV_NAMES = ("PATH", "HOME", "XDG_CONFIG_HOME")
_SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "KEY", "REMOTE")
_NOT_KEYED = (SWITCH_ENV, TRACE_ENV)

LAST: str | None = None
"""How this process's last ``memo run`` was answered: ``manifest``, ``partly``, ``checks``; None: no manifest."""


def local_sealer() -> Sealer:
    """The machine's local sealer (``memo.localauth``): a manifest is trusted as a local entry is."""
    from memo.localauth import local_sealer as sealer

    return sealer()


@dataclass
class Attempt:
    """What the fast path found: the manifest (if any) and, with one, what changed."""

    key: str
    store: ManifestStore
    started_ns: int
    manifest: Manifest | None = None
    verification: Verification | None = None

    @property
    def servable(self) -> bool:
        return (
            self.manifest is not None
            and self.manifest.replayable
            and self.verification is not None
            and self.verification.unchanged
        )


_OFF_WORDS = frozenset({"false", "0", "no", "off"})


def enabled() -> bool:
    """Whether the manifest may be used and written: caching on, and the manifest not switched off."""
    if os.environ.get(SWITCH_ENV, "").strip().lower() in _OFF_WORDS:
        return False
    if "VALIDATION_CACHE_ENABLED" not in os.environ:
        return True  # memo.enabled (and the logging it warns through) is needed only when the switch is set
    from memo.enabled import caching_enabled

    return caching_enabled()


_VALUED = {
    "--format": "format",
    "-o": "output",
    "--output": "output",
    "--dimension": "dimension",
    "--dimensions": "dimension",
    "-j": "jobs",
    "--jobs": "jobs",
    "--config": "config",
    "--cache-dir": "cache_dir",
    "--remote": "remote",
    "--remote-mode": "remote_mode",
}
_FLAGS = {
    "--no-cache": "no_cache",
    "--exit-zero": "exit_zero",
    "-q": "quiet",
    "--quiet": "quiet",
    "--statistics": "statistics",
}
_CHOICES = {"format": ("text", "json", "sarif"), "remote_mode": ("read-write", "read-only")}


def quick_args(argv: list[str]) -> argparse.Namespace | None:
    """``memo run ARGV`` as ``memo.cli.app``'s parser reads it, without building that parser; None if unsure.

    Only the plain spellings are read here (no abbreviated option, no ``-j4`` or ``-qj4``,
    no ``--help``); anything else is None, and argparse reads the command line as ever.
    """
    values: dict[str, object] = {
        "command": "run",
        "paths": [],
        "format": "text",
        "output": None,
        "no_cache": False,
        "dimension": None,
        "jobs": None,
        "config": None,
        "cache_dir": None,
        "remote": None,
        "remote_mode": None,
        "exit_zero": False,
        "quiet": False,
        "statistics": False,
        "trust_project": None,
    }
    paths: list[str] = []
    index = 0
    closed = False
    """Whether an option came after the paths: argparse takes the paths as one group."""
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == "--":
            return None
        if not arg.startswith("-") or arg == "-":
            if closed:
                return None
            paths.append(arg)
            continue
        closed = bool(paths)
        name, equals, value = arg.partition("=")
        if name in _FLAGS and not equals:
            values[_FLAGS[name]] = True
            continue
        if name not in _VALUED or (equals and not name.startswith("--")):
            return None
        if not equals:
            if index >= len(argv) or argv[index].startswith("-"):
                return None
            value = argv[index]
            index += 1
        if not _store(values, _VALUED[name], value):
            return None
    values["paths"] = paths
    return argparse.Namespace(**values)


def _store(values: dict[str, object], dest: str, value: str) -> bool:
    """Set ``dest`` from an option's ``value`` as argparse would; False where argparse might read it otherwise."""
    if dest in _CHOICES and value not in _CHOICES[dest]:
        return False
    if dest == "jobs":
        if not value.isdigit() or int(value) < 1:
            return False
        values[dest] = int(value)
    elif dest == "dimension":
        values[dest] = [*(values[dest] or []), value]  # type: ignore[misc]
    else:
        values[dest] = value
    return True


def run_key(args: argparse.Namespace, cwd: str) -> str:
    """The run configuration, as one digest (see the module's docstring)."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if (name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES)
        and name not in _NOT_KEYED
        and not any(word in name for word in _SECRET_WORDS)
    }
    parts = {
        "memo": memo.__version__,
        "schema": SCHEMA,
        "python": [sys.executable, sys.version, list(sys.path)],
        "cwd": cwd,
        "paths": list(args.paths or []),
        "dimension": list(args.dimension or []),
        "config": None if args.config is None else os.path.abspath(args.config),
        "trust_project": getattr(args, "trust_project", None),
        "cache_dir": cache_directory(args),
        "environment": sorted(environment.items()),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8", "surrogateescape")).hexdigest()


def cache_directory(args: argparse.Namespace) -> str:
    from memo.cacheopts import default_cache_dir

    chosen = args.cache_dir
    return os.path.abspath(os.path.expanduser(chosen) if chosen is not None else default_cache_dir())


def attempt(args: argparse.Namespace) -> Attempt | None:
    """The manifest of this run configuration and what changed since; None when no manifest applies."""
    global LAST
    LAST = None
    if getattr(args, "no_cache", False) or not enabled():
        return None
    started_ns = time.time_ns()
    try:
        cwd = os.getcwd()
    except OSError:
        return None
    key = run_key(args, cwd)
    store = ManifestStore(cache_directory(args), local_sealer())
    found = Attempt(key, store, started_ns)
    manifest = store.load(key)
    if manifest is not None:
        found.manifest = manifest
        found.verification = manifest.verify()
    return found


def stored_report(found: Attempt) -> Report:
    """The report the manifest holds, as the checks would have made it from the cache."""
    assert found.manifest is not None  # nosec B101 - only when servable
    log, files, _ = replay(found.manifest, {})
    return report_of(found.manifest, log, files, (time.time_ns() - found.started_ns) / 1e9)


def serve(found: Attempt, report: Report, args: argparse.Namespace) -> int:
    """Write the stored report of an unchanged tree; the exit status."""
    from memo.cli import emit

    manifest, verification = found.manifest, found.verification
    assert manifest is not None and verification is not None  # nosec B101 - only when servable
    status = emit.finish(report, args)
    if verification.resettled or manifest.served != "manifest":
        refreshed(manifest, verification, found.started_ns)
        manifest.served = "manifest"
        found.store.save(found.key, manifest)
    done("manifest", f"{report.files} files unchanged, {len(manifest.witnesses)} witnesses held; no check planned")
    return status


def done(how: str, detail: str) -> None:
    """Record (and with ``VALIDATION_CACHE_MANIFEST_TRACE`` set, print) how the run was answered."""
    global LAST
    LAST = how
    if os.environ.get(TRACE_ENV, "").strip().lower() not in ("", "0", "false", "no", "off"):
        print(f"memo: manifest: {how}: {detail}", file=sys.stderr)


def replay(
    manifest: Manifest, overrides: Mapping[tuple[int, int], object]
) -> tuple[ResultLog, int, list[tuple[str, bool, Sequence[str | None]]]]:
    """The manifest's results as a ``ResultLog`` in the engine's check order, the number of files, the lanes.

    ``overrides``: ``{(lane, file index): ValidationResult}`` to use instead of what is
    stored (file index -1 for a project-level lane's one check). The lanes are
    ``(dimension, per_file, paths)``, as ``memo.engine.recording`` takes them.
    """
    from memo.engine.resultlog import ResultLog
    from memo.results import ValidationResult

    segments: list[tuple[int, str, Sequence[str | None]]] = []
    results: dict[int, ValidationResult] = {}
    every: Sequence[str | None] = manifest.files.paths
    stored = manifest.results
    start = 0
    for number, lane in enumerate(manifest.lanes):
        paths: Sequence[str | None]
        if not lane.per_file:
            paths = [None]
            result = overrides.get((number, -1))
            if isinstance(result, ValidationResult):
                results[start] = result
            segments.append((start, lane.dimension, paths))
            start += 1
            continue
        chosen = manifest.files.in_lane(number)
        whole = isinstance(chosen, range) and len(chosen) == len(every)
        # Every lane that checked every file shares the one list of paths: no per-lane copy.
        paths = every if whole else _Picked(every, chosen)
        offset_of = None if whole else {index: offset for offset, index in enumerate(chosen)}
        _lane_results(results, number, start, offset_of, stored, overrides)
        segments.append((start, lane.dimension, paths))
        start += len(paths)
    log = ResultLog.replayed(segments, start, results)  # type: ignore[arg-type]
    lanes = [
        (lane.dimension, lane.per_file, paths) for lane, (_, _, paths) in zip(manifest.lanes, segments, strict=True)
    ]
    return log, len(manifest.files), lanes


class _Picked(Sequence[str | None]):
    """The paths of the rows a lane checked, read through the one list every lane shares."""

    __slots__ = ("_every", "_rows")

    def __init__(self, every: Sequence[str | None], rows: Sequence[int]) -> None:
        self._every = every
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> str | None: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str | None]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str | None] | None:
        if isinstance(index, slice):
            return _Picked(self._every, self._rows[index])
        return self._every[self._rows[index]]


def _lane_results(
    results: dict[int, ValidationResult],
    number: int,
    start: int,
    offset_of: dict[int, int] | None,
    stored: Mapping[int, Mapping[int, Mapping[str, Any]]],
    overrides: Mapping[tuple[int, int], object],
) -> None:
    """Lane ``number``'s stored results, then its overrides, into ``results`` at their check indices.

    ``offset_of``: a file's offset in the lane by its index in the manifest; None when the lane checks every file.
    """
    from memo.results import ValidationResult

    for index, rows in stored.items():
        if number in rows:
            data = dict(rows[number])
            data["cached"] = True
            offset = index if offset_of is None else offset_of[index]
            results[start + offset] = ValidationResult.from_dict(data)
    for (lane_number, file_index), result in overrides.items():
        if lane_number == number and file_index >= 0 and isinstance(result, ValidationResult):
            offset = file_index if offset_of is None else offset_of[file_index]
            results[start + offset] = result


def report_of(manifest: Manifest, log: ResultLog, files: int, wall_time_s: float) -> Report:
    from memo.engine.report import Report

    return Report(
        results=log,
        files=files,
        dimension_names=manifest.dimension_names,
        wall_time_s=wall_time_s,
        root=Path(manifest.root),
        cache_enabled=True,
    )


def refreshed(manifest: Manifest, verification: Verification, started_ns: int) -> None:
    """Trust the signatures that have settled since the manifest was written (racy ones, moved ones)."""
    from memo.hashing import stat_signature
    from memo.witness import observe, settled

    files = manifest.files
    for index, digest in verification.digests.items():
        if digest != files.digest(index):
            continue
        try:
            info = os.stat(files.paths[index])
        except OSError:
            continue
        files.settle(index, stat_signature(info), settled(info, started_ns))
    manifest.witnesses = [
        w if w.trusted else observe(w.kind, w.path, w.names, started_ns, w.value) for w in manifest.witnesses
    ]
