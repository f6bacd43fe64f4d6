"""Run memo's lint/format and bare ruff on one project, and compare what they report.

memo runs as a user runs it (``python -m memo run ROOT --format json``), cached, warm,
``--no-cache`` and from another working directory; ruff runs bare at the root
(``ruff check .`` / ``ruff format --check .``, JSON output, never fixing). Findings are
compared as ``(path relative to the root, line, column, code, message)``, restricted to
the files memo validated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from memo.validators import _tools

DIMENSIONS = ("lint", "format")
Finding = tuple[str, int, int, str, str]


@dataclass(frozen=True)
class MemoRun:
    """One memo run's findings and files per dimension, and its cache hits."""

    findings: dict[str, frozenset[Finding]]
    files: dict[str, frozenset[str]]
    hits: int
    misses: int


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("VALIDATION_CACHE_ENABLED", None)
    env.pop("VALIDATION_CACHE_DIR", None)
    # The child must import this checkout's memo, whatever its working directory.
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    return env


def memo(
    root: Path,
    cache_dir: Path,
    *,
    no_cache: bool = False,
    cwd: Path | None = None,
    dimensions: tuple[str, ...] = DIMENSIONS,
) -> MemoRun:
    argv = [sys.executable, "-m", "memo", "run", str(root), "--format", "json", "--cache-dir", str(cache_dir)]
    if dimensions:
        argv += ["--dimension", ",".join(dimensions)]
    if no_cache:
        argv.append("--no-cache")
    completed = subprocess.run(argv, cwd=cwd or root, env=_env(), capture_output=True, timeout=300, check=False)
    assert completed.returncode in (0, 1), completed.stderr.decode()
    report = json.loads(completed.stdout)
    findings: dict[str, set[Finding]] = {dimension: set() for dimension in dimensions}
    files: dict[str, set[str]] = {dimension: set() for dimension in dimensions}
    for result in report["results"]:
        dimension = result["dimension"]
        if dimension not in files:
            continue
        assert result["error"] is None, result
        files[dimension].add(os.path.relpath(result["file_path"], root))
        for item in result["findings"]:
            findings[dimension].add(
                (os.path.relpath(item["path"], root), item["line"], item["column"], item["code"], item["message"])
            )
    summary = report["summary"]
    return MemoRun(
        {dimension: frozenset(found) for dimension, found in findings.items()},
        {dimension: frozenset(found) for dimension, found in files.items()},
        summary["cache_hits"],
        summary["cache_misses"],
    )


def bare_ruff(root: Path, dimension: str, files: frozenset[str]) -> frozenset[Finding]:
    """What ruff itself reports at the root for ``dimension``, on ``files`` only."""
    tool = _tools.find_tool("ruff")
    assert tool is not None
    # --no-fix --no-fix-only: report as `ruff check .` does, without letting a project's
    # `fix = true` rewrite the test project.
    command = ["check", "--no-fix", "--no-fix-only"] if dimension == "lint" else ["format", "--check"]
    argv = [*tool.argv, *command, "--no-cache", "--output-format", "json", "."]
    completed = subprocess.run(argv, cwd=root, capture_output=True, timeout=300, check=False)
    assert completed.returncode in (0, 1), completed.stderr.decode()
    entries = json.loads(completed.stdout or b"[]")
    found = set()
    for entry in entries:
        relative = os.path.relpath(entry["filename"], root)
        if relative in files:
            location = entry["location"]
            found.add((relative, location["row"], location["column"], entry["code"], entry["message"]))
    return frozenset(found)


def assert_memo_agrees(root: Path, cache_dir: Path, elsewhere: Path) -> MemoRun:
    """memo (cached, warm, --no-cache, cold from another directory) reports what bare ruff reports.

    Returns the first (cached) run, whose hits and misses say what the cache served.
    """
    first = memo(root, cache_dir)
    warm = memo(root, cache_dir)
    uncached = memo(root, cache_dir, no_cache=True)
    # Cold from elsewhere: a cache filled from the root would hide how ruff was started.
    moved = memo(root, Path(tempfile.mkdtemp(dir=elsewhere)), cwd=elsewhere)
    assert warm.misses == 0, "an unchanged tree must be served from the cache"
    for dimension in DIMENSIONS:
        expected = bare_ruff(root, dimension, first.files[dimension])
        assert first.findings[dimension] == expected, (dimension, "cached", first.findings[dimension] ^ expected)
        assert warm.findings[dimension] == expected, (dimension, "warm")
        assert uncached.findings[dimension] == expected, (dimension, "--no-cache")
        assert moved.findings[dimension] == expected, (dimension, "other cwd")
        assert first.files[dimension] == uncached.files[dimension] == moved.files[dimension]
    return first


def snapshot_tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and mtime under ``root``."""
    found = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            found[str(path.relative_to(root))] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found
