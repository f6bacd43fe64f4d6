"""Running memo the ways a user does: the orchestrator in process, and ``memo run`` as a process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo import ValidationCache
from memo.validators import DEFAULT_DIMENSIONS, resolve
from orchestrator import Report, ValidationOrchestrator


def orchestrate(
    root: Path,
    cache: ValidationCache | None,
    dimensions: Sequence[str] = DEFAULT_DIMENSIONS,
    paths: Sequence[Path] | None = None,
) -> Report:
    """One run of the orchestrator over ``root`` (or ``paths`` under it), in a fresh event loop."""
    orchestrator = ValidationOrchestrator(
        root, validators=resolve(dimensions), cache=cache, use_cache=cache is not None
    )
    return asyncio.run(orchestrator.run(paths))


def same_findings(first: Report, second: Report) -> bool:
    """Whether two runs said the same of every file: results equal but for timing and ``cached``."""

    def key(report: Report) -> list[tuple[Any, ...]]:
        return sorted(
            (r.dimension, r.file_path, r.passed, r.error, tuple((f.line, f.column, f.code) for f in r.findings))
            for r in report.results
        )

    return key(first) == key(second)


@dataclass(frozen=True)
class Process:
    """What one command cost: wall seconds, peak resident memory (MB), and its output."""

    seconds: float
    peak_mb: float
    returncode: int
    stdout: bytes
    stderr: bytes


def run_measured(argv: Sequence[str], env: dict[str, str] | None = None) -> Process:
    """Run ``argv`` and measure its peak RSS with ``os.wait4`` (Linux reports ru_maxrss in KiB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Process(seconds, usage.ru_maxrss / 1024, child.returncode, out.read(), err.read())


def memo_command() -> list[str]:
    """The ``memo`` console script next to this interpreter, else ``python -m memo.cli``.

    Not whatever ``memo`` is first on PATH: a version manager's shim there (pyenv's is a
    shell script) would add its own start-up to every timing.
    """
    script = Path(sys.executable).with_name("memo")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "memo.cli"]


def memo_run(root: Path, cache_dir: Path, output: Path, *extra: str) -> tuple[Process, dict[str, Any]]:
    """``memo run ROOT --format json`` as a process; its measurements and its JSON report."""
    process = run_measured(
        [
            *memo_command(),
            "run",
            str(root),
            "--format",
            "json",
            "--cache-dir",
            str(cache_dir),
            "--output",
            str(output),
            *extra,
        ]
    )
    assert process.returncode in (0, 1), process.stderr.decode(errors="replace")[-2000:]
    return process, json.loads(output.read_text(encoding="utf-8"))
