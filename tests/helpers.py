"""Small validators and factories shared by the core tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

from memo import Finding, ValidationResult, cached_validation
from memo.validators import Validator


class CountingValidator(Validator):
    """Reports one finding per line containing "TODO"; counts how often its body runs."""

    dimension: ClassVar[str] = "todos"
    version: ClassVar[str] = "1"
    calls: ClassVar[int] = 0
    gate: ClassVar[asyncio.Event | None] = None
    """When set, the body waits on it: lets a test hold calls in flight."""

    @cached_validation(dimension="todos")
    async def validate(self) -> ValidationResult:
        type(self).calls += 1
        if type(self).gate is not None:
            await type(self).gate.wait()
        assert self.file_path is not None
        text = self.file_path.read_text(encoding="utf-8")
        findings = [
            Finding(str(self.file_path), number, line.index("TODO") + 1, "TD001", "TODO left in code", "warning")
            for number, line in enumerate(text.splitlines(), start=1)
            if "TODO" in line
        ]
        return ValidationResult("todos", passed=not findings, findings=findings, file_path=self.file_path)


def todo_result(file_path: Path) -> ValidationResult:
    """One ``TD001`` finding (at column 1) per line of the file that holds "TODO"."""
    text = file_path.read_text(encoding="utf-8")
    findings = [
        Finding(str(file_path), number, 1, "TD001", "TODO left in code", "warning")
        for number, line in enumerate(text.splitlines(), start=1)
        if "TODO" in line
    ]
    return ValidationResult("todos", passed=not findings, findings=findings, file_path=file_path)


def append_line(path: str, line: str) -> None:
    """Append ``line`` with one ``write`` (O_APPEND), so lines from concurrent processes never interleave."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def counting_validator_class(**attrs: Any) -> type[CountingValidator]:
    """A fresh subclass with its own call counter, so tests never share counts."""
    return type("Counting", (CountingValidator,), {"calls": 0, "gate": None, **attrs})


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run_memo(
    *args: str, cwd: Path, env: dict[str, str] | None = None, python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    """``python -m memo ARGS`` in ``cwd`` as a user runs it, its default cache under ``cwd``; never a traceback.

    ``VALIDATION_CACHE_ENABLED`` from the caller's environment is left out, so a test
    sets it only on purpose (through ``env``).
    """
    environment = {key: value for key, value in os.environ.items() if key != "VALIDATION_CACHE_ENABLED"}
    environment.update({"VALIDATION_CACHE_DIR": str(cwd / "env-cache"), **(env or {})})
    completed = subprocess.run(
        [python, "-m", "memo", *args], cwd=cwd, env=environment, capture_output=True, text=True, check=False
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    return completed
