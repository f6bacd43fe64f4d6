"""memo runs from any working directory: a project's own ``validators/`` or ``memo/`` never replaces memo's code.

Both the command and its pool's workers (which parse and measure files) would import
from the working directory if it were on their ``sys.path``; the project below makes
any such import fail loudly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import write

TRAP = 'from pathlib import Path\n\nPath(__file__ + ".imported").touch()\n'
"""A module that leaves a mark when imported; importing it at all is the defect."""


def _project(root: Path, *, memo_package: bool) -> Path:
    """A clean project holding its own ``validators`` package and a ``memo/`` directory, all traps.

    The project's ``validators`` imports without error (the dangerous case: nothing
    fails until memo looks for its own modules in it). ``memo/`` is a clone of some
    project (a directory without ``__init__.py``) or, with ``memo_package``, a package
    of the project's own.
    """
    write(root / "app.py", "def double(value: int) -> int:\n    return 2 * value\n")
    write(root / "validators/__init__.py", TRAP)
    write(root / "validators/_workers.py", TRAP)
    write(root / "memo/memo/__init__.py", TRAP)
    if memo_package:
        write(root / "memo/__init__.py", TRAP)
    return root


def _run(command: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    environment = {key: value for key, value in os.environ.items() if key != "VALIDATION_CACHE_ENABLED"}
    completed = subprocess.run(
        [*command, "run", ".", "--format", "json", "--cache-dir", str(cwd.parent / "cache")],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    assert "ImportError" not in completed.stderr + completed.stdout
    return completed, json.loads(completed.stdout)


def _assert_every_check_ran(project: Path, completed: subprocess.CompletedProcess[str], report: dict[str, Any]) -> None:
    assert sorted(path.relative_to(project).as_posix() for path in project.rglob("*.imported")) == []
    results = report["results"]
    assert [result for result in results if result["error"] is not None] == []
    checked = {
        (Path(result["file_path"]).resolve().relative_to(project.resolve()).as_posix(), result["dimension"])
        for result in results
    }
    for dimension in ("syntax", "complexity", "lint", "format", "security"):
        assert ("app.py", dimension) in checked
        assert ("validators/__init__.py", dimension) in checked
    assert completed.returncode == 0, completed.stderr


def test_python_dash_m_memo_ignores_the_projects_own_validators_and_memo(tmp_path: Path) -> None:
    project = _project(tmp_path / "project", memo_package=False)
    completed, report = _run([sys.executable, "-m", "memo"], project)
    _assert_every_check_ran(project, completed, report)


def test_the_memo_command_ignores_the_projects_own_validators_and_memo_package(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("memo")
    if not script.exists():
        pytest.skip("the memo console script is not installed next to this interpreter")
    project = _project(tmp_path / "project", memo_package=True)
    completed, report = _run([str(script)], project)
    _assert_every_check_ran(project, completed, report)
