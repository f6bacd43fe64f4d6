"""The README's commands are the ones CI proves, in an environment CI builds from nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / ".ci" / "run"


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:sh|bash)\n(.+?)\n```", quick_start, re.S)


def _test_command() -> str:
    return _readme_commands()[1]


def _ci_lines() -> list[str]:
    return CI.read_text(encoding="utf-8").splitlines()


def test_readme_has_the_two_setup_commands() -> None:
    commands = _readme_commands()
    assert len(commands) == 2
    assert "memo run" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_exactly() -> None:
    assert _test_command() in _ci_lines()


def test_readme_test_command_runs_the_active_environments_python_only() -> None:
    """Every step is ``python -m ...``: a bare ``pip`` or ``pytest`` may be another interpreter's."""
    steps = _test_command().split(" && ")
    assert [step.split()[:3] for step in steps] == [
        ["python", "-m", "pip"],
        ["python", "-m", "pytest"],
        ["python", "-m", "pytest"],
    ]
    assert steps[0].startswith('python -m pip install -e ".[test]"')
    assert steps[2].split()[3:] == ["benchmarks/", "examples/"]


def test_ci_gates_lint_format_types_and_memo_on_itself() -> None:
    after = _ci_lines()[_ci_lines().index(_test_command()) + 1 :]
    assert {"python -m ruff check .", "python -m ruff format --check .", "python -m mypy"} <= set(after)
    assert any(line.startswith("python -m memo run . ") for line in after)


def test_a_failing_readme_command_fails_ci_before_the_gates(tmp_path: Path) -> None:
    """``set -e`` ignores a failure inside an ``&&`` list; CI must not go on to pass on its gates."""
    lines = _ci_lines()
    command = lines.index(_test_command())
    tail = ["set -euo pipefail", "python -m pip --version >/dev/null && false && echo NOT-REACHED"]
    tail += [line if not line.startswith("python -m ") else "echo GATE-RAN" for line in lines[command + 1 :]]
    script = tmp_path / "tail.sh"
    script.write_text("\n".join(tail) + "\n", encoding="utf-8")
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    python.chmod(0o755)
    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, check=False)
    assert done.returncode != 0
    assert "GATE-RAN" not in done.stdout and "NOT-REACHED" not in done.stdout


def test_ci_installs_redis_server_when_the_machine_has_none() -> None:
    before = _ci_lines()[: _ci_lines().index(_test_command())]
    assert any("command -v redis-server" in line for line in before)
    assert any("apt-get install" in line and "redis-server" in line for line in before)


def test_ci_builds_a_fresh_git_ignored_environment_before_the_command() -> None:
    lines = _ci_lines()
    command = lines.index(_test_command())
    before = "\n".join(lines[:command])
    assert lines[1:].count(_test_command()) == 1
    after = [line for line in lines[command + 1 :] if line and not line.startswith("#")]
    assert after[0].startswith("status=$?"), "the command's failure is CI's failure"
    gates = after[1:]
    assert gates and all(line.startswith("python -m ") for line in gates), "only gates follow the command"
    assert "set -euo pipefail" in before
    assert 'rm -rf "$VENV"' in before and '-m venv "$VENV"' in before and 'source "$VENV/bin/activate"' in before
    assert before.index("rm -rf") < before.index("-m venv") < before.index("/bin/activate")
    venv = re.search(r"^VENV=(\S+)$", before, re.M)
    assert venv is not None
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "--no-index", f"{venv.group(1)}/bin/python"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, f"{venv.group(1)}/ must be ignored by git"


def test_a_pytest_step_that_collects_nothing_fails_the_command(tmp_path: Path) -> None:
    """pytest's exit status 5 (no tests collected) stops the chain and is CI's status.

    The README's pytest steps run, through bash as CI runs them, in an empty directory
    with this interpreter as ``python``.
    """
    pytest_steps = " && ".join(_test_command().split(" && ")[1:]) + " && echo REACHED-THE-END"
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    python.chmod(0o755)
    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    (tmp_path / "empty").mkdir()
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", pytest_steps],
        cwd=tmp_path / "empty",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 5, done.stdout[-2000:] + done.stderr[-2000:]
    assert "REACHED-THE-END" not in done.stdout


def test_the_readmes_validator_example_runs_as_a_projects_own_validator_and_is_ruff_clean(tmp_path: Path) -> None:
    from tests.helpers import run_memo, write

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```python\n(.+?)\n```", text.split("## Writing a validator", 1)[1], re.S)[:1]
    project = tmp_path / "project"
    write(project / "pyproject.toml", '[tool.memo]\nvalidators = ["checks.todos:TodoValidator"]\n')
    write(project / "checks/__init__.py", "")
    write(project / "checks/todos.py", example + "\n")
    write(project / "app.py", "x = 1  # TODO: remove\n")
    done = run_memo("run", ".", "--trust-project", "--no-cache", "--format", "json", cwd=project)
    codes = {
        (result["dimension"], f["code"]) for result in json.loads(done.stdout)["results"] for f in result["findings"]
    }
    assert ("todos", "TD001") in codes
    assert not {code for code in codes if code[0] in ("lint", "format")}, codes  # the example itself is clean
