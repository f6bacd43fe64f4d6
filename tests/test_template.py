"""orchestrator.py is orchestrator.py.j2 rendered with the default context, byte for byte."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import memo_cli
import orchestrator

REPO = Path(__file__).resolve().parent.parent


def test_rendering_the_default_context_gives_orchestrator_py_exactly() -> None:
    assert memo_cli.TEMPLATE.is_file()
    shipped = Path(orchestrator.__file__).read_bytes()
    assert memo_cli.render_orchestrator().encode("utf-8") == shipped, (
        "orchestrator.py drifted from orchestrator.py.j2: run `memo render -o orchestrator.py`"
    )


def test_memo_render_writes_an_identical_file(tmp_path: Path) -> None:
    out = tmp_path / "orchestrator.py"
    completed = subprocess.run(
        [sys.executable, "-m", "memo", "render", "-o", str(out)], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert out.read_bytes() == Path(orchestrator.__file__).read_bytes()


def load(path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_rendered_choices_become_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"timeout": 5, "lint": {"select": ["F"], "line_length": 99}, "exclude": ["gen/"]}
    path = tmp_path / "custom_orchestrator.py"
    path.write_text(memo_cli.render_orchestrator(["lint"], 3, config), encoding="utf-8")
    module = load(path, "custom_orchestrator", monkeypatch)
    assert module.DEFAULT_DIMENSIONS == ("lint",)
    assert module.DEFAULT_JOBS == 3
    assert config == module.DEFAULT_CONFIG
    made = module.ValidationOrchestrator(tmp_path, use_cache=False)
    assert [cls.dimension for cls in made.validators] == ["lint"]
    assert made.jobs == 3 and made.timeout == 5


def test_a_copied_orchestrator_runs_as_a_script_with_its_defaults(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text("import os\n", encoding="utf-8")
    script = project / "orchestrator.py"
    script.write_text(memo_cli.render_orchestrator(["lint"], 4, {"lint": {"select": ["F"]}}), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, str(script), str(project), "--format", "json", "--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert completed.returncode == 1, completed.stderr
    report = json.loads(completed.stdout)
    assert report["summary"]["dimension_names"] == ["lint"]
    codes = {finding["code"] for result in report["results"] for finding in result["findings"]}
    assert codes == {"F401"}


def test_memo_render_rejects_an_unknown_dimension(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "memo", "render", "--dimensions", "lint,nope", "-o", str(tmp_path / "o.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert "unknown dimension 'nope'" in completed.stderr and "Traceback" not in completed.stderr
    assert not (tmp_path / "o.py").exists()
