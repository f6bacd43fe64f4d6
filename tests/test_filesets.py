"""Which files a dimension reports on follows its tool's config, ignore files and the tree, through a cached run.

Each test runs lint, format and security through a cache twice or more, changing one
thing that decides which files a tool checks in between: the new set must show at once
(a file newly excluded drops out, one newly included appears). The clock is moved past
the racy window so the sets are remembered on their witnesses, and ruff is counted:
an unchanged tree is answered from the remembered set, a changed witness asks ruff again.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from memo import ValidationCache
from memo.engine import Engine
from memo.validators import FormatValidator, LintValidator, SecurityValidator, _fileset, _ruff_files
from memo.validators._fileset import FileSet, Witnessing

DIMENSIONS = [LintValidator, FormatValidator, SecurityValidator]


@pytest.fixture(autouse=True)
def settled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every file counts as changed long enough ago to vouch for itself."""
    _fileset.forget()
    monkeypatch.setattr(_fileset, "_clock", lambda: time.time_ns() + 10 * _fileset.RACY_WINDOW_NS)
    yield
    _fileset.forget()


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each time ruff is asked which files it checks, the root it was asked at."""
    calls: list[str] = []
    real = _ruff_files.derive

    def counting(tool: object, root: str, *, isolated: bool = False) -> _ruff_files.RuffFiles:
        calls.append(root)
        return real(tool, root, isolated=isolated)  # type: ignore[arg-type]

    monkeypatch.setattr(_ruff_files, "derive", counting)
    return calls


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    return root


def _files(root: Path, cache: ValidationCache, paths: list[str] | None = None) -> dict[str, set[str]]:
    with Engine(root, {}, DIMENSIONS, cache, jobs=1) as engine:
        report = engine.run_sync(paths)
    assert report.errors == 0, [r.error for r in report.results if r.error]
    found: dict[str, set[str]] = {cls.dimension: set() for cls in DIMENSIONS}
    for result in report.results:
        assert result.file_path is not None
        found[result.dimension].add(Path(result.file_path).relative_to(root).as_posix())
    return found


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[ValidationCache]:
    store = ValidationCache(tmp_path / "cache")
    yield store
    store.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return _tree(
        tmp_path / "proj",
        {
            "pyproject.toml": "[tool.ruff]\nline-length = 100\n",
            "a.py": "import os\n",
            "b.py": "x = 1\n",
            "docs/guide.md": "# Guide\n",
        },
    )


def test_an_unchanged_tree_asks_ruff_once(project: Path, cache: ValidationCache, asked: list[str]) -> None:
    first = _files(project, cache)
    assert first["lint"] == {"a.py", "b.py", "pyproject.toml"}
    assert first["format"] == {"a.py", "b.py", "docs/guide.md"}
    assert first["security"] == {"a.py", "b.py"}
    assert _files(project, cache) == first
    assert len(asked) == 1


def test_a_file_newly_excluded_in_the_config_drops_out(project: Path, cache: ValidationCache, asked: list[str]) -> None:
    _files(project, cache)
    (project / "pyproject.toml").write_text('[tool.ruff]\nline-length = 100\nextend-exclude = ["b.py", "docs"]\n')
    found = _files(project, cache)
    assert found["lint"] == {"a.py", "pyproject.toml"} and found["format"] == {"a.py"}
    assert found["security"] == {"a.py", "b.py"}, "bandit does not read ruff's config"
    assert len(asked) == 2


def test_a_tracked_file_newly_gitignored_drops_out_of_ruffs_dimensions(project: Path, cache: ValidationCache) -> None:
    (project / ".gitignore").write_text("*.log\n")
    _files(project, cache)
    (project / ".gitignore").write_text("*.log\nb.py\n")
    found = _files(project, cache)
    assert "b.py" not in found["lint"] | found["format"]
    assert "b.py" in found["security"], "bandit reads no .gitignore"


def test_a_new_nested_gitignore_is_seen(project: Path, cache: ValidationCache) -> None:
    _files(project, cache)
    (project / "docs" / ".gitignore").write_text("guide.md\n")
    assert "docs/guide.md" not in _files(project, cache)["format"]


def test_git_info_exclude_is_seen(project: Path, cache: ValidationCache) -> None:
    _files(project, cache)
    with (project / ".git" / "info" / "exclude").open("a") as handle:
        handle.write("a.py\n")
    assert "a.py" not in _files(project, cache)["lint"]


def test_a_file_newly_included_appears(project: Path, cache: ValidationCache, asked: list[str]) -> None:
    (project / "pyproject.toml").write_text('[tool.ruff]\nextend-exclude = ["b.py"]\n')
    assert "b.py" not in _files(project, cache)["lint"]
    (project / "pyproject.toml").write_text("[tool.ruff]\n")
    (project / "notebooks").mkdir()
    (project / "notebooks" / "n.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    (project / "docs" / "api.md").write_text("# API\n")
    found = _files(project, cache)
    assert {"b.py", "notebooks/n.ipynb"} <= found["lint"]
    assert {"docs/api.md", "notebooks/n.ipynb"} <= found["format"]


def test_an_edit_along_the_extend_chain_is_seen(tmp_path: Path, cache: ValidationCache) -> None:
    project = _tree(
        tmp_path / "chain",
        {
            "shared/base.toml": "line-length = 100\n",
            "proj/pyproject.toml": '[tool.ruff]\nextend = "../shared/base.toml"\n',
            "proj/a.py": "x = 1\n",
            "proj/gen/b.py": "y = 2\n",
        },
    )
    root = project / "proj"
    assert "gen/b.py" in _files(root, cache)["lint"]
    (project / "shared" / "base.toml").write_text('line-length = 100\nextend-exclude = ["gen"]\n')
    assert "gen/b.py" not in _files(root, cache)["lint"]


def test_a_bandit_config_edit_changes_the_security_files(project: Path, cache: ValidationCache) -> None:
    (project / "tests").mkdir()
    (project / "tests" / "test_a.py").write_text("def test_a():\n    assert True\n")
    assert "tests/test_a.py" in _files(project, cache)["security"]
    (project / "pyproject.toml").write_text('[tool.ruff]\nline-length = 100\n[tool.bandit]\nexclude_dirs = ["tests"]\n')
    found = _files(project, cache)
    assert "tests/test_a.py" not in found["security"] and "tests/test_a.py" in found["lint"]


def test_named_paths_narrow_the_tools_files(project: Path, cache: ValidationCache) -> None:
    (project / "pyproject.toml").write_text('[tool.ruff]\nextend-exclude = ["b.py"]\n')
    found = _files(project, cache, ["b.py", "docs"])
    assert found == {"lint": set(), "format": {"docs/guide.md"}, "security": {"b.py"}}


def test_a_set_read_while_its_tree_changes_is_asked_again(
    project: Path, cache: ValidationCache, asked: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_fileset, "_clock", time.time_ns)  # every file was written just now: racy
    _files(project, cache)
    _files(project, cache)
    assert len(asked) == 2


def test_witnesses_notice_each_kind_of_change(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "f").write_text("1")
    witnessing = Witnessing()
    witnessing.add(str(tmp_path / "dir"))
    witnessing.add(str(tmp_path / "f"))
    witnessing.add(str(tmp_path / "absent"))
    witnessing.add_kind(str(tmp_path / "kind"))
    fileset: FileSet = witnessing.file_set([])
    assert fileset.trusted and fileset.still_holds()
    for change in (
        lambda: (tmp_path / "dir" / "new").write_text(""),
        lambda: (tmp_path / "f").write_text("22"),
        lambda: (tmp_path / "absent").write_text(""),
        lambda: (tmp_path / "kind").mkdir(),
    ):
        change()
        assert not fileset.still_holds()
        fileset = _refreshed(tmp_path)


def _refreshed(tmp_path: Path) -> FileSet:
    witnessing = Witnessing()
    witnessing.add(str(tmp_path / "dir"))
    witnessing.add(str(tmp_path / "f"))
    witnessing.add(str(tmp_path / "absent"))
    witnessing.add_kind(str(tmp_path / "kind"))
    fileset = witnessing.file_set([])
    assert fileset.still_holds()
    return fileset
