"""Run memo's CLI and the bare tools on a small project, and reduce both to comparable findings.

A finding is ``(path relative to the root, line, column, code)``. memo runs as a user
would run it: ``python -m memo run ROOT --format json``, in a subprocess, with its own
cache directory, from a working directory of the caller's choice. The bare tools run at
the project root, as a user runs them there.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Finding = tuple[str, int, int, str]

MEMO_TIMEOUT_S = 240


@dataclass(frozen=True)
class MemoRun:
    """One ``memo run --format json``: its findings, the files it checked, its errors and hits."""

    findings: frozenset[Finding]
    files: frozenset[str]
    errors: tuple[str, ...]
    cache_hits: int
    results: tuple[tuple[str, str, bool, str | None, tuple[Finding, ...]], ...]
    """Per result: (dimension, file, passed, error, findings), in report order, without timings."""


def write_project(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write ``files`` (relative name -> text) under ``root``; returns ``root``."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def _relative(path: str | None, root: Path) -> str:
    if not path:
        return ""
    return os.path.relpath(path if os.path.isabs(path) else os.path.join(root, path), root)


def run_memo(
    root: Path,
    dimensions: Iterable[str],
    cache_dir: Path,
    *,
    no_cache: bool = False,
    cwd: Path | None = None,
    extra: Iterable[str] = (),
) -> MemoRun:
    """``python -m memo run ROOT --format json`` for these dimensions, parsed."""
    argv = [sys.executable, "-m", "memo", "run", str(root), "--format", "json", "--cache-dir", str(cache_dir)]
    for dimension in dimensions:
        argv += ["--dimension", dimension]
    if no_cache:
        argv.append("--no-cache")
    argv += list(extra)
    env = {key: value for key, value in os.environ.items() if not key.startswith("VALIDATION_CACHE")}
    completed = subprocess.run(  # nosec B603 - our own interpreter, fixed arguments
        argv, cwd=cwd or root, capture_output=True, timeout=MEMO_TIMEOUT_S, check=False, env=env
    )
    try:
        report: dict[str, Any] = json.loads(completed.stdout)
    except ValueError:
        raise AssertionError(
            f"memo printed no JSON report (exit {completed.returncode}): {completed.stderr.decode()[-2000:]}"
        ) from None
    findings: set[Finding] = set()
    files: set[str] = set()
    errors: list[str] = []
    results = []
    for result in report["results"]:
        file = _relative(result.get("file_path"), root)
        files.add(file)
        if result["status"] == "error":
            errors.append(f"{result['dimension']} {file}: {result['error']}")
        own = tuple(
            sorted(
                (_relative(item["path"], root), int(item["line"]), int(item["column"]), str(item["code"]))
                for item in result["findings"]
            )
        )
        findings.update(own)
        results.append((result["dimension"], file, bool(result["passed"]), result.get("error"), own))
    return MemoRun(
        frozenset(findings),
        frozenset(files),
        tuple(errors),
        int(report["summary"].get("cache_hits") or 0),
        tuple(sorted(results, key=lambda row: (row[0], row[1]))),
    )


def standard_runs(root: Path, dimension: str, cache_dir: Path, elsewhere: Path) -> dict[str, MemoRun]:
    """The runs every differential test compares with the bare tool: cold, warm, ``--no-cache``,
    and cold from another working directory (keys and tools must not depend on it)."""
    return {
        "cold": run_memo(root, [dimension], cache_dir),
        "warm": run_memo(root, [dimension], cache_dir),
        "no-cache": run_memo(root, [dimension], cache_dir, no_cache=True),
        "other-cwd": run_memo(root, [dimension], cache_dir, cwd=elsewhere),
    }


def run_tool(argv: list[str], root: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """A bare tool, run at the project root as a user runs it there."""
    return subprocess.run(  # nosec B603 - fixed argv built by the test
        argv, cwd=root, capture_output=True, timeout=MEMO_TIMEOUT_S, check=False, env=None if env is None else dict(env)
    )


def restricted(findings: Iterable[Finding], files: Iterable[str]) -> frozenset[Finding]:
    """Only the findings about ``files`` (the files memo validated)."""
    keep = set(files)
    return frozenset(finding for finding in findings if finding[0] in keep)
