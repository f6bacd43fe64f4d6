"""Validators are plugins: built-in ones through entry points, a project's own through [tool.memo] validators."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from memo import validators
from memo.engine import EngineError, plugins
from tests.helpers import run_memo as memo
from tests.helpers import write

TODO_VALIDATOR = '''
from __future__ import annotations

from typing import ClassVar

from memo import Finding, ValidationResult, cached_validation
from memo.validators import Validator


class TodoValidator(Validator):
    """TODO comments left in the code."""

    dimension: ClassVar[str] = "todos"
    version: ClassVar[str] = "1"

    @cached_validation(dimension="todos")
    async def validate(self) -> ValidationResult:
        assert self.file_path is not None
        lines = self.file_path.read_text(encoding="utf-8").splitlines()
        findings = [
            Finding(str(self.file_path), number, line.index("TODO") + 1, "TD001", "TODO left in code", "warning")
            for number, line in enumerate(lines, start=1)
            if "TODO" in line
        ]
        return ValidationResult("todos", passed=not findings, findings=findings)
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write(root / "pyproject.toml", '[tool.memo]\nvalidators = ["checks.todos:TodoValidator"]\n')
    write(root / "checks/__init__.py", "")
    write(root / "checks/todos.py", textwrap.dedent(TODO_VALIDATOR))
    write(root / "app.py", "x = 1  # TODO: remove\n")
    return root


def report(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    loaded = json.loads(completed.stdout)
    assert isinstance(loaded, dict)
    return loaded


def test_built_in_validators_are_found_through_the_entry_point_group() -> None:
    found = plugins.installed()
    assert set(found) == set(validators.REGISTRY)
    for name, cls in found.items():
        assert cls is validators.REGISTRY[name]


def test_a_projects_own_validator_runs_with_memo_run_dimension(project: Path) -> None:
    first = memo(
        "run",
        ".",
        "--trust-project",
        "--dimension",
        "todos",
        "--format",
        "json",
        "--cache-dir",
        "../cache",
        cwd=project,
    )
    assert first.returncode == 1, first.stderr
    findings = [(Path(f["path"]).name, f["code"]) for r in report(first)["results"] for f in r["findings"]]
    assert ("app.py", "TD001") in findings
    second = memo(
        "run",
        ".",
        "--trust-project",
        "--dimension",
        "todos",
        "--format",
        "json",
        "--cache-dir",
        "../cache",
        cwd=project,
    )
    summary = report(second)["summary"]
    assert summary["cache_misses"] == 0 and summary["cache_hits"] == summary["files"] > 0


def test_editing_a_validators_code_without_bumping_its_version_is_a_miss(project: Path) -> None:
    args = ("run", ".", "--trust-project", "--dimension", "todos", "--format", "json", "--cache-dir", "../cache")
    memo(*args, cwd=project)
    source = project / "checks/todos.py"
    source.write_text(source.read_text().replace('"TD001"', '"TD002"'))
    # Python trusts a module's cached bytecode while the source's size and mtime (in whole
    # seconds) match: an edit of the same size within the second of the first run would
    # run the old bytecode, with or without memo. Move the mtime on, as any later edit does.
    later = source.stat().st_mtime + 2
    os.utime(source, (later, later))
    second = report(memo(*args, cwd=project))
    assert second["summary"]["cache_hits"] == 0
    assert {f["code"] for r in second["results"] for f in r["findings"]} == {"TD002"}
    third = report(memo(*args, cwd=project))
    assert third["summary"]["cache_misses"] == 0


def test_a_projects_own_validator_is_among_the_default_dimensions(project: Path) -> None:
    done = memo("run", ".", "--format", "json", "--no-cache", cwd=project, env={"VALIDATION_CACHE_TRUST_PROJECT": "1"})
    assert "todos" in report(done)["summary"]["dimension_names"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("checks.nothere:TodoValidator", "cannot be imported: ModuleNotFoundError"),
        ("checks.todos:Nope", "cannot be imported: AttributeError"),
        ("json:JSONDecoder", "is not a subclass of memo.validators.Validator"),
        ("memo.validators.lint:LintValidator", "dimension 'lint' is already taken"),
    ],
)
def test_a_bad_validator_entry_is_one_line_and_exit_2(project: Path, spec: str, message: str) -> None:
    if spec.startswith("memo.validators.lint"):
        write(
            project / "checks/lint.py",
            "from memo.validators.lint import LintValidator as Other\n\nclass LintValidator(Other):\n    pass\n",
        )
        spec = "checks.lint:LintValidator"
    write(project / "pyproject.toml", f'[tool.memo]\nvalidators = ["{spec}"]\n')
    done = memo("run", ".", "--trust-project", cwd=project)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and message in done.stderr, done.stderr


def test_resolve_suggests_the_closest_dimension() -> None:
    with pytest.raises(EngineError, match=r"unknown dimension 'securty' \(did you mean 'security'\?\)"):
        plugins.resolve(["securty"], plugins.installed())


def test_changing_one_validators_options_keeps_every_other_validators_hits(tmp_path: Path) -> None:
    root = tmp_path / "project"
    write(root / "pyproject.toml", "[tool.memo.complexity]\nmax_complexity = 10\n")
    write(root / "app.py", "def f(x):\n    return x\n")
    args = ("run", ".", "--dimension", "lint,complexity,syntax", "--format", "json", "--cache-dir", "../cache")
    memo(*args, cwd=root)
    write(root / "pyproject.toml", "[tool.memo.complexity]\nmax_complexity = 3\n")
    results = report(memo(*args, cwd=root))["results"]
    # pyproject.toml is itself a file ruff lints (RUF2xx), and it changed: app.py's checks are the ones to compare.
    cached = {result["dimension"]: result["cached"] for result in results if result["file_path"].endswith("app.py")}
    assert cached == {"lint": True, "syntax": True, "complexity": False}
