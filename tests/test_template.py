"""orchestrator.py is orchestrator.py.j2 rendered with the default context; rendered files are short and clean."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import orchestrator
from memo.cli.render import python_literal, render_orchestrator, template_source
from memo.validators import LintValidator, SecurityValidator

REPO = Path(__file__).resolve().parent.parent


def memo(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "memo", *args], capture_output=True, text=True, check=False, cwd=cwd)


def test_the_installed_template_is_the_repository_template() -> None:
    assert template_source() == (REPO / "orchestrator.py.j2").read_text(encoding="utf-8")


def test_rendering_the_default_context_gives_orchestrator_py_exactly() -> None:
    shipped = Path(orchestrator.__file__).read_bytes()
    assert render_orchestrator().encode("utf-8") == shipped, (
        "orchestrator.py drifted from orchestrator.py.j2: run `memo render -o orchestrator.py`"
    )


def test_the_template_and_what_it_renders_are_short() -> None:
    assert len((REPO / "orchestrator.py.j2").read_text(encoding="utf-8").splitlines()) <= 80
    rendered = render_orchestrator([LintValidator, SecurityValidator], 3, {"lint": {"select": ["F"]}})
    assert len(rendered.splitlines()) <= 100


def test_memo_render_writes_an_identical_file_and_makes_its_directory(tmp_path: Path) -> None:
    out = tmp_path / "new" / "dir" / "orchestrator.py"
    completed = memo("render", "-o", str(out))
    assert completed.returncode == 0, completed.stderr
    assert out.read_bytes() == Path(orchestrator.__file__).read_bytes()


def load(path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def test_rendered_choices_become_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"timeout": 5, "lint": {"select": ["F"], "line_length": 99}, "exclude": ["gen/"]}
    path = tmp_path / "custom_orchestrator.py"
    path.write_text(render_orchestrator([LintValidator], 3, config, "demo"), encoding="utf-8")
    module = load(path, "custom_orchestrator", monkeypatch)
    assert (LintValidator,) == module.DEFAULT_VALIDATORS
    assert module.DEFAULT_JOBS == 3
    assert config == module.DEFAULT_CONFIG
    assert module.PROJECT == "demo"
    made = module.ValidationOrchestrator(tmp_path, use_cache=False)
    assert made.validators == [LintValidator]
    assert made.jobs == 3 and made.timeout == 5


WIDE_CONFIG: dict[str, Any] = {
    "exclude": ["generated/**", "vendor/**", "docs/_build/**", "third_party/**"],
    "lint": {"select": ["E", "F", "W", "I", "B", "UP", "SIM", "RUF"], "per-file-ignores": {"tests/*": ["S101"]}},
    "security": {"skip": ["B101"], "severity": "medium"},
    "timeout": 30.5,
}


@pytest.mark.parametrize(
    ("validators", "jobs", "config", "project"),
    [
        (None, None, None, None),
        ([LintValidator], 4, {"lint": {"select": ["F"]}}, "demo"),
        ([LintValidator, SecurityValidator], None, WIDE_CONFIG, "a project with a long-ish name"),
    ],
)
def test_a_rendered_file_is_ruff_clean_with_ruffs_defaults(
    tmp_path: Path, validators: Any, jobs: int | None, config: dict[str, Any] | None, project: str | None
) -> None:
    ruff = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    assert ruff is not None
    path = tmp_path / "orchestrator.py"
    path.write_text(render_orchestrator(validators, jobs, config, project), encoding="utf-8")
    rules = "E,F,W,I,B,UP,SIM,RUF"
    lint = subprocess.run([ruff, "check", "--isolated", "--select", rules, str(path)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    form = subprocess.run(
        [ruff, "format", "--isolated", "--check", "--diff", str(path)], capture_output=True, text=True
    )
    assert form.returncode == 0, form.stdout + form.stderr


def test_python_literal_splits_long_tables_and_keeps_short_ones_on_a_line() -> None:
    assert python_literal({"b": [1, 2], "a": "x"}) == '{"a": "x", "b": [1, 2]}'
    long = {"key": ["a" * 40, "b" * 40]}
    expected = '{\n    "key": [\n        "' + "a" * 40 + '",\n        "' + "b" * 40 + '",\n    ],\n}'
    assert python_literal(long) == expected
    with pytest.raises(ValueError, match="not a TOML/JSON value"):
        python_literal({"x": object()})


def test_a_rendered_orchestrator_runs_as_a_script_in_a_fresh_directory(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text("import os\n", encoding="utf-8")
    completed = memo("render", "--dimension", "lint", "--jobs", "4", "-o", str(project / "orchestrator.py"))
    assert completed.returncode == 0, completed.stderr
    run = subprocess.run(
        [sys.executable, "orchestrator.py", ".", "--format", "json", "--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        check=False,
        cwd=project,
    )
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["summary"]["dimension_names"] == ["lint"]
    findings = [(Path(f["path"]).name, f["code"]) for result in report["results"] for f in result["findings"]]
    assert ("app.py", "F401") in findings


def test_memo_render_rejects_an_unknown_dimension(tmp_path: Path) -> None:
    completed = memo("render", "--dimensions", "lint,nope", "-o", str(tmp_path / "o.py"))
    assert completed.returncode == 2
    assert "unknown dimension 'nope'" in completed.stderr and "Traceback" not in completed.stderr
    assert not (tmp_path / "o.py").exists()
