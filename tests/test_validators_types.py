"""The project-level types validator: mypy over a tree, findings at 1-based positions, never cached."""

from __future__ import annotations

import json
import subprocess  # nosec B404
import sys
from pathlib import Path

import pytest

from memo import ValidationCache, bind_cache
from memo.validators import TypesValidator


def write_project(root: Path) -> None:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (root / "pkg" / "ok.py").write_text("def double(x: int) -> int:\n    return 2 * x\n", encoding="utf-8")
    (root / "pkg" / "bad.py").write_text("def name(x: int) -> str:\n    return x\n", encoding="utf-8")


async def test_reports_a_type_error_at_its_place_and_runs_uncached(tmp_path: Path) -> None:
    root = tmp_path / "project"
    write_project(root)
    config = {"types": {"paths": ["pkg"]}}
    with bind_cache(ValidationCache(tmp_path / "cache")) as binding:
        result = await TypesValidator(None, config, root=root).validate()
        assert binding.cache is not None and binding.cache.stats()["sets"] == 0
    assert result.error is None and not result.passed
    assert [(f.path, f.line, f.column, f.code) for f in result.findings] == [
        (str(root / "pkg" / "bad.py"), 2, 12, "return-value")
    ]
    assert result.file_path is None and not result.cached


async def test_a_root_that_is_not_a_directory_is_an_error(tmp_path: Path) -> None:
    result = await TypesValidator(None, root=tmp_path / "missing").validate()
    assert result.error is not None and "is not a directory" in result.error


async def test_a_mypy_usage_error_is_an_error_result(tmp_path: Path) -> None:
    result = await TypesValidator(None, {"types": {"paths": ["nowhere"]}}, root=tmp_path).validate()
    assert result.error is not None and result.error.startswith("mypy failed (exit status 2)")


def bare_mypy(root: Path) -> set[tuple[str, int, str]]:
    """``mypy`` at the root, as a user runs it there: (path, line, code) of each error."""
    completed = subprocess.run(  # nosec B603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "mypy", "--output", "json", "--no-error-summary"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    assert completed.returncode in (0, 1), completed.stderr
    found = set()
    for line in completed.stdout.decode().splitlines():
        entry = json.loads(line)
        found.add((str(root / entry["file"]), entry["line"], entry["code"]))
    return found


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("pyproject.toml", '[tool.mypy]\nfiles = ["pkg"]\n'),
        ("mypy.ini", "[mypy]\nfiles = pkg\n"),
        ("setup.cfg", "[metadata]\nname = p\n\n[mypy]\nfiles = pkg\n"),
    ],
)
async def test_the_configs_files_are_checked_as_a_bare_mypy_checks_them(name: str, config: str, tmp_path: Path) -> None:
    root = tmp_path / "project"
    write_project(root)
    (root / "scripts").mkdir()
    (root / "scripts" / "tool.py").write_text("count: int = 'three'\n", encoding="utf-8")
    (root / name).write_text(config, encoding="utf-8")
    result = await TypesValidator(None, root=root).validate()
    assert result.error is None
    assert (
        {(f.path, f.line, f.code) for f in result.findings}
        == bare_mypy(root)
        == {(str(root / "pkg" / "bad.py"), 2, "return-value")}
    )


async def test_without_files_in_the_config_the_whole_tree_is_checked(tmp_path: Path) -> None:
    root = tmp_path / "project"
    write_project(root)
    (root / "scripts").mkdir()
    (root / "scripts" / "tool.py").write_text("count: int = 'three'\n", encoding="utf-8")
    (root / "setup.cfg").write_text("[metadata]\nname = p\n", encoding="utf-8")  # no [mypy]: not mypy's config
    result = await TypesValidator(None, root=root).validate()
    assert {(f.path, f.code) for f in result.findings} == {
        (str(root / "pkg" / "bad.py"), "return-value"),
        (str(root / "scripts" / "tool.py"), "assignment"),
    }
