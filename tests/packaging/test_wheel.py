"""The wheel works: built with ``python -m build``, installed (not editable) into a fresh environment.

One environment gets the wheel with its tools, then everything a user reaches for: ``memo
run`` with every dimension on a small tree, ``memo render`` and the rendered
orchestrator, the pytest plugin's fixture, a validator from another installed
distribution found through the ``memo.validators`` entry points. ``twine check`` reads
the metadata of both distributions as the index would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.packaging._support import Distributions, Environment

TREE = {
    "syntax_bad.py": "VALUE = 1\nreturn VALUE\n",  # a compile error that mypy still reads (a parse error stops it)
    "lint_bad.py": "import os\n",
    "format_bad.py": "x = {  'a':1 }\n",
    "security_bad.py": (
        "import subprocess\n\n\ndef run(command: str) -> None:\n    subprocess.call(command, shell=True)\n"
    ),
    "complexity_bad.py": "def branchy(x: int) -> int:\n"
    + "".join(f"    if x == {n}:\n        return {n}\n" for n in range(12))
    + "    return -1\n",
    "types_bad.py": 'count: int = "three"\n',
    "clean.py": '"""Nothing to report."""\n\nVALUE = 1\n',
}
"""One file per dimension that only that dimension's tool objects to, and one clean file."""

EXPECTED = {
    "syntax": "syntax_bad.py",
    "lint": "lint_bad.py",
    "format": "format_bad.py",
    "security": "security_bad.py",
    "complexity": "complexity_bad.py",
    "types": "types_bad.py",
}

PLUGIN = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools>=69"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "memo-todos"\nversion = "1.0"\ndependencies = ["memo-validators"]\n\n'
        '[project.entry-points."memo.validators"]\ntodos = "memo_todos:TodoValidator"\n'
    ),
    "memo_todos.py": (
        "from memo import Finding, ValidationResult, cached_validation\n"
        "from memo.validators import Validator\n\n\n"
        "class TodoValidator(Validator):\n"
        '    dimension = "todos"\n'
        '    version = "1"\n\n'
        "    @cached_validation()\n"
        "    async def validate(self) -> ValidationResult:\n"
        "        path = str(self.file_path)\n"
        '        lines = self.file_path.read_text(encoding="utf-8").splitlines()\n'
        "        findings = [\n"
        '            Finding(path, n, 1, "TD001", "TODO", "warning")\n'
        "            for n, line in enumerate(lines, 1)\n"
        '            if "TODO" in line\n'
        "        ]\n"
        '        return ValidationResult("todos", passed=not findings, findings=findings)\n'
    ),
}

PLUGIN_TEST = (
    "from pathlib import Path\n\n"
    "from memo import ValidationCache\n\n\n"
    "def test_memo_cache_is_a_bound_cache_in_the_test_directory(memo_cache, tmp_path):\n"
    "    assert isinstance(memo_cache, ValidationCache)\n"
    "    assert Path(memo_cache.directory).is_relative_to(tmp_path)\n"
)


def _write(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, distributions: Distributions) -> Environment:
    """A fresh environment with the wheel, its tools, mypy (the ``types`` tool) and pytest."""
    import venv

    root = tmp_path_factory.mktemp("wheel-env") / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(root)
    env = Environment(root)
    env.pip("install", "-q", f"{distributions.wheel}[tools]", "mypy", "pytest")
    return env


def test_twine_check_passes_on_the_wheel_and_sdist(distributions: Distributions) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(distributions.wheel), str(distributions.sdist)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_wheel_holds_the_template_and_every_subpackage(distributions: Distributions) -> None:
    names = set(zipfile.ZipFile(distributions.wheel).namelist())
    for required in (
        "memo/py.typed",
        "memo/validators/__init__.py",
        "memo/validators/py.typed",
        "memo/engine/__init__.py",
        "memo/cli/__init__.py",
        "memo/cli/formats/json.py",
        "memo/cli/templates/orchestrator.py.j2",
    ):
        assert required in names, required
    with tarfile.open(distributions.sdist) as sdist:
        members = {member.name.split("/", 1)[1] for member in sdist.getmembers() if "/" in member.name}
    assert "orchestrator.py.j2" in members or "memo/cli/templates/orchestrator.py.j2" in members


def test_memo_run_reports_every_dimension_from_the_installed_wheel(installed: Environment, tmp_path: Path) -> None:
    tree = _write(tmp_path / "tree", TREE)
    done = installed.run(
        installed.bin / "memo",
        "run",
        ".",
        "--dimension",
        ",".join(EXPECTED),
        "--format",
        "json",
        cwd=tree,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    failing: dict[str, set[str]] = {}  # dimension -> the files its findings name (types is one project-wide result)
    for result in report["results"]:
        for finding in result["findings"]:
            failing.setdefault(result["dimension"], set()).add(Path(finding["path"]).name)
    for dimension, name in EXPECTED.items():
        assert name in failing.get(dimension, set()), (dimension, failing)
        assert "clean.py" not in failing.get(dimension, set()), (dimension, failing)
    again = installed.run(
        installed.bin / "memo", "run", ".", "--dimension", ",".join(EXPECTED), "--format", "json", cwd=tree, check=False
    )
    assert again.returncode == 1
    assert json.loads(again.stdout)["summary"]["findings"] == report["summary"]["findings"]


def test_a_rendered_orchestrator_runs_from_the_installed_wheel(installed: Environment, tmp_path: Path) -> None:
    tree = _write(tmp_path / "tree", TREE)
    target = tmp_path / "mine" / "orchestrator.py"
    target.parent.mkdir()
    installed.run(installed.bin / "memo", "render", "--dimension", "syntax,lint", "--project", "mine", "-o", target)
    assert "from memo.engine import" in target.read_text()
    done = installed.run(installed.python, target, ".", "--no-cache", cwd=tree, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "syntax_bad.py" in done.stdout and "lint_bad.py" in done.stdout
    assert "format_bad.py" not in done.stdout


def test_the_pytest_plugin_gives_the_memo_cache_fixture(installed: Environment, tmp_path: Path) -> None:
    project = _write(tmp_path / "usertests", {"test_mine.py": PLUGIN_TEST})
    done = installed.run(installed.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_a_validator_from_another_distribution_is_found_by_its_entry_point(
    installed: Environment, tmp_path: Path
) -> None:
    plugin = _write(tmp_path / "plugin", PLUGIN)
    installed.pip("install", "-q", plugin)
    tree = _write(tmp_path / "tree", {"notes.py": "# TODO: write this\n", "done.py": "x = 1\n"})
    done = installed.run(
        installed.bin / "memo", "run", ".", "--dimension", "todos", "--no-cache", cwd=tree, check=False
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "TD001" in done.stdout and "notes.py" in done.stdout
    listed = installed.run(installed.bin / "memo", "run", "--help")
    assert listed.returncode == 0
