"""The bare tools run with no file list at the root, and memo on the same tree, reduced to comparable sets.

For each dimension: the exit status, the files the tool checked and its findings, each
finding ``(path relative to the root, cell, line, column, code)``. The files checked
come from the tool itself: ``ruff check --show-files .``; the files ``ruff format
--check --verbose .`` logs it formats; the files in ``bandit -r .``'s JSON metrics (and
its errors, for files it could not parse); the files radon's own walk yields
(``iter_filenames``, with its config) for ``radon cc --show-closures -j .``, whose
functions over the limit are findings (radon's exit status is always 0: a finding fails).
"""

from __future__ import annotations

import json
import os
import re
import subprocess  # nosec B404
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo.validators import _bandit_config, _tools

DIMENSIONS = ("lint", "format", "security", "complexity")
MAX_COMPLEXITY = 10
Finding = tuple[str, int | None, int, int, str]
TIMEOUT_S = 300


@dataclass(frozen=True)
class Outcome:
    """What one side reported for one dimension."""

    failed: bool
    files: frozenset[str]
    findings: frozenset[Finding]


def _relative(root: Path, path: str) -> str:
    return os.path.relpath(path if os.path.isabs(path) else os.path.join(root, path), root)


def _run(argv: list[str], root: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, cwd=root, capture_output=True, timeout=TIMEOUT_S, check=False)  # nosec B603


def _ruff() -> list[str]:
    tool = _tools.find_tool("ruff")
    assert tool is not None
    return list(tool.argv)


def bare_lint(root: Path) -> Outcome:
    shown = _run([*_ruff(), "check", "--show-files", "."], root)
    files = frozenset(_relative(root, line) for line in shown.stdout.decode().splitlines() if line.strip())
    checked = _run([*_ruff(), "check", "--no-fix", "--no-fix-only", "--no-cache", "--output-format", "json", "."], root)
    assert checked.returncode in (0, 1), checked.stderr.decode()
    return Outcome(checked.returncode != 0, files, _ruff_findings(root, checked.stdout))


def bare_format(root: Path) -> Outcome:
    checked = _run([*_ruff(), "format", "--check", "--no-cache", "--verbose", "--output-format", "json", "."], root)
    assert checked.returncode in (0, 1), checked.stderr.decode()
    files = frozenset(_relative(root, path) for path in re.findall(r"format_path; path=(.*)", checked.stderr.decode()))
    return Outcome(checked.returncode != 0, files, _ruff_findings(root, checked.stdout))


def _ruff_findings(root: Path, stdout: bytes) -> frozenset[Finding]:
    return frozenset(
        (_relative(root, e["filename"]), e.get("cell"), e["location"]["row"], e["location"]["column"], e["code"])
        for e in json.loads(stdout or b"[]")
    )


def bare_bandit(root: Path) -> Outcome:
    """``bandit -r .`` (with ``-c pyproject.toml`` where ``[tool.bandit]`` is, as its docs say to run it)."""
    table = _bandit_config._pyproject_table(_bandit_config._read_bytes(str(root / "pyproject.toml")))
    config = ["-c", "pyproject.toml"] if table is not None and not (root / ".bandit").exists() else []
    done = _run([sys.executable, "-m", "bandit", "-r", ".", "-f", "json", "-q", *config], root)
    assert done.returncode in (0, 1), done.stderr.decode()
    report = json.loads(done.stdout)
    errors = report.get("errors") or []
    files = {_relative(root, name) for name in report["metrics"] if name != "_totals"}
    files |= {_relative(root, error["filename"]) for error in errors}
    findings = {
        (_relative(root, e["filename"]), None, e["line_number"], e["col_offset"] + 1, e["test_id"])
        for e in report["results"]
    }
    findings |= {(_relative(root, error["filename"]), None, 1, 1, "unparsable") for error in errors}
    return Outcome(done.returncode != 0, frozenset(files), frozenset(findings))


_RADON_FILES = (
    "import json; from radon.cli import _cfg; from radon.cli.tools import iter_filenames; "
    "print(json.dumps(list(iter_filenames(['.'], _cfg.get_value('exclude', str, None), "
    "_cfg.get_value('ignore', str, None)))))"
)


def bare_radon(root: Path) -> Outcome:
    walked = _run([sys.executable, "-c", _RADON_FILES], root)
    assert walked.returncode == 0, walked.stderr.decode()
    files = frozenset(_relative(root, name) for name in json.loads(walked.stdout))
    measured = _run([sys.executable, "-m", "radon", "cc", "--show-closures", "-j", "."], root)
    assert measured.returncode == 0, measured.stderr.decode()
    findings = _radon_findings(root, json.loads(measured.stdout))
    return Outcome(bool(findings), files, frozenset(findings))


def _radon_findings(root: Path, report: dict[str, Any]) -> frozenset[Finding]:
    """Functions, methods and closures over the limit, and each file radon could not parse."""
    findings: set[Finding] = set()
    pending: list[tuple[str, dict[str, Any]]] = []
    for name, blocks in report.items():
        if isinstance(blocks, dict):
            findings.add((_relative(root, name), None, 1, 1, "unparsable"))
        else:
            pending.extend((name, block) for block in blocks)
    while pending:
        name, block = pending.pop()
        pending.extend((name, closure) for closure in block.get("closures") or [])
        if block["type"] != "class" and block["complexity"] > MAX_COMPLEXITY:
            findings.add((_relative(root, name), None, block["lineno"], block["col_offset"] + 1, "too-complex"))
    return frozenset(findings)


BARE = {"lint": bare_lint, "format": bare_format, "security": bare_bandit, "complexity": bare_radon}


@dataclass(frozen=True)
class MemoRun:
    """One ``memo run`` over the three dimensions: its exit status and each dimension's outcome."""

    exit_status: int
    dimensions: dict[str, Outcome]
    hits: int
    misses: int


def memo(root: Path, cache_dir: Path, *, no_cache: bool = False, cwd: Path | None = None) -> MemoRun:
    argv = [sys.executable, "-m", "memo", "run", ".", "--format", "json", "--cache-dir", str(cache_dir)]
    argv += ["--dimension", ",".join(DIMENSIONS)]
    if no_cache:
        argv.append("--no-cache")
    if cwd is not None:
        argv[4] = str(root)
    env = {key: value for key, value in os.environ.items() if not key.startswith("VALIDATION_CACHE")}
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    done = subprocess.run(  # nosec B603
        argv, cwd=cwd or root, capture_output=True, timeout=TIMEOUT_S, check=False, env=env
    )
    assert done.returncode in (0, 1), done.stderr.decode()
    report = json.loads(done.stdout)
    files: dict[str, set[str]] = {dimension: set() for dimension in DIMENSIONS}
    findings: dict[str, set[Finding]] = {dimension: set() for dimension in DIMENSIONS}
    failed = dict.fromkeys(DIMENSIONS, False)
    for result in report["results"]:
        dimension = result["dimension"]
        assert result["error"] is None, result
        files[dimension].add(_relative(root, result["file_path"]))
        failed[dimension] = failed[dimension] or not result["passed"]
        for item in result["findings"]:
            findings[dimension].add(
                (_relative(root, item["path"]), item.get("cell"), item["line"], item["column"], item["code"])
            )
    outcomes = {d: Outcome(failed[d], frozenset(files[d]), frozenset(findings[d])) for d in DIMENSIONS}
    summary = report["summary"]
    return MemoRun(done.returncode, outcomes, summary["cache_hits"], summary["cache_misses"])


def assert_same_as_bare(root: Path, cache_dir: Path, elsewhere: Path) -> dict[str, Outcome]:
    """memo (cold, warm, ``--no-cache``, from elsewhere) reports each bare tool's files, findings and status."""
    bare = {dimension: check(root) for dimension, check in BARE.items()}
    runs = {
        "cold": memo(root, cache_dir),
        "warm": memo(root, cache_dir),
        "no-cache": memo(root, cache_dir, no_cache=True),
        "other-cwd": memo(root, cache_dir, cwd=elsewhere),
    }
    assert runs["warm"].misses == 0, "an unchanged tree is served from the cache"
    for name, run in runs.items():
        for dimension in DIMENSIONS:
            got, want = run.dimensions[dimension], bare[dimension]
            assert got.files == want.files, (name, dimension, "files", sorted(got.files ^ want.files))
            assert got.findings == want.findings, (name, dimension, "findings", sorted(got.findings ^ want.findings))
            assert got.failed == want.failed, (name, dimension, "status")
        assert (run.exit_status != 0) == any(outcome.failed for outcome in bare.values()), (name, "exit status")
    return bare
