"""lint and format honour the project's ruff config, and its content is part of the key."""

from __future__ import annotations

from pathlib import Path

from memo import ValidationCache, bind_cache
from tests.helpers import write
from validators import REGISTRY

LONG_CALL = "value = some_function_name(first_argument_value, second_argument_value, third_argument_value_x)\n"
"""98 characters: over ruff's default line length of 88, under 120."""


async def _format(root: Path, cache: ValidationCache, config: dict[str, object] | None = None) -> tuple[bool, bool]:
    with bind_cache(cache, config=config or {}, root=root):
        result = await REGISTRY["format"](root / "m.py", config=config or {}, root=root).validate()
    assert result.error is None, result.error
    return result.passed, result.cached


async def test_format_uses_the_projects_line_length(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root / "m.py", LONG_CALL)
    with ValidationCache(tmp_path / "cache") as cache:
        assert await _format(root, cache) == (False, False)  # no config: ruff's defaults
        write(root / "ruff.toml", "line-length = 120\n")
        assert await _format(root, cache) == (True, False)  # the config changed: a miss
        assert await _format(root, cache) == (True, True)
        write(root / "ruff.toml", "line-length = 80\n")
        assert await _format(root, cache) == (False, False)


async def test_pyproject_without_a_ruff_table_is_not_a_ruff_config(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root / "m.py", LONG_CALL)
    write(root / "pyproject.toml", '[project]\nname = "x"\n')
    with ValidationCache(tmp_path / "cache") as cache:
        assert (await _format(root, cache))[0] is False
        write(root / "pyproject.toml", '[project]\nname = "x"\n\n[tool.ruff]\nline-length = 120\n')
        assert await _format(root, cache) == (True, False)


async def test_project_config_can_be_turned_off(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root / "m.py", LONG_CALL)
    write(root / "ruff.toml", "line-length = 120\n")
    with ValidationCache(tmp_path / "cache") as cache:
        assert (await _format(root, cache, {"format": {"project_config": False}}))[0] is False


async def test_lint_selection_comes_from_the_project_config(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root / "m.py", "import os\n\n\ndef f():\n    l = 1\n    return l\n")
    write(root / "ruff.toml", '[lint]\nselect = ["E741"]\n')
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, config={}, root=root):
        result = await REGISTRY["lint"](root / "m.py", config={}, root=root).validate()
    assert [finding.code for finding in result.findings] == ["E741"]  # F401 (unused os) not selected
    assert result.findings[0].line == 5
