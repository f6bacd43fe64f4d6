"""lint and format honour the project's ruff configs, and every file ruff reads for a result is in its key."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from memo import ValidationCache, ValidationResult, bind_cache
from memo.hashing import RACY_WINDOW_NS
from memo.validators import REGISTRY, _process, _ruff_context, _tools
from memo.validators._ruff import CONTEXT_CHANGED
from tests.helpers import write

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


# -- what else is in the key (cache_context), and the snapshot it is checked against -----------


def _lint(root: Path, name: str = "m.py") -> Any:
    return REGISTRY["lint"](root / name, config={}, root=root)


async def _run(validator: Any, cache: ValidationCache, root: Path) -> ValidationResult:
    with bind_cache(cache, config={}, root=root):
        return await validator.validate()  # type: ignore[no-any-return]


@pytest.fixture
def settled_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Observations count as older than the racy window, so the memo trusts stat signatures."""
    monkeypatch.setattr(_ruff_context.OBSERVER, "_clock", lambda: time.time_ns() + 10 * RACY_WINDOW_NS)


async def test_a_same_size_config_edit_with_its_mtime_restored_is_a_miss(tmp_path: Path, settled_clock: None) -> None:
    root = tmp_path / "proj"
    write(root / "m.py", LONG_CALL)
    write(root / "ruff.toml", "line-length = 120\n")
    with ValidationCache(tmp_path / "cache") as cache:
        assert await _format(root, cache) == (True, False)
        assert await _format(root, cache) == (True, True)
        config = root / "ruff.toml"
        info = config.stat()
        config.write_text("line-length =  80\n", encoding="utf-8")  # same size
        os.utime(config, ns=(info.st_atime_ns, info.st_mtime_ns))  # as cp -p / touch -r leave it
        assert config.stat().st_size == info.st_size and config.stat().st_mtime_ns == info.st_mtime_ns
        assert await _format(root, cache) == (False, False)


async def test_a_config_edited_while_ruff_runs_is_not_stored_under_the_old_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "proj"
    write(root / "m.py", LONG_CALL)
    write(root / "ruff.toml", "line-length = 120\n")
    real_run = _process.run

    async def edit_then_run(*args: Any, **kwargs: Any) -> _process.Completed:
        write(root / "ruff.toml", "line-length = 80\n")  # ruff will read this one
        return await real_run(*args, **kwargs)

    with ValidationCache(tmp_path / "cache") as cache:
        monkeypatch.setattr(_process, "run", edit_then_run)
        result = await _run(REGISTRY["format"](root / "m.py", config={}, root=root), cache, root)
        monkeypatch.setattr(_process, "run", real_run)
        assert result.error == CONTEXT_CHANGED and not result.cached
        assert cache.stats()["sets"] == 0
        write(root / "ruff.toml", "line-length = 120\n")  # back to the key's config
        assert await _format(root, cache) == (True, False)  # computed, not the 80-column result


async def test_editing_the_end_of_the_extend_chain_is_a_miss(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root / "m.py", LONG_CALL)
    write(root / "pyproject.toml", '[tool.ruff]\nextend = "../shared/ruff.toml"\n')
    write(tmp_path / "shared" / "ruff.toml", 'extend = "base.toml"\n')
    write(tmp_path / "shared" / "base.toml", "line-length = 120\n")
    with ValidationCache(tmp_path / "cache") as cache:
        assert await _format(root, cache) == (True, False)
        assert await _format(root, cache) == (True, True)
        write(tmp_path / "shared" / "base.toml", "line-length = 60\n")
        assert await _format(root, cache) == (False, False)


async def test_a_nested_config_is_the_one_used_for_its_subtree(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root / "ruff.toml", "line-length = 120\n")
    write(root / "sub" / "m.py", LONG_CALL)
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, config={}, root=root):
        check = REGISTRY["format"]
        assert (await check(root / "sub" / "m.py", config={}, root=root).validate()).passed
        write(root / "sub" / ".ruff.toml", "line-length = 80\n")
        result = await check(root / "sub" / "m.py", config={}, root=root).validate()
    assert not result.passed and not result.cached


def test_lint_context_follows_the_init_chain_and_what_the_file_imports(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root / "pkg" / "a.py", "import os\nfrom zzz_probe import (\n    thing,  # comment\n)\n")
    lint = _lint(root, "pkg/a.py")
    first = lint.cache_context()
    write(root / "unrelated.py", "")
    assert lint.cache_context() == first  # a module nobody imports changes nothing
    write(root / "zzz_probe.py", "")
    second = lint.cache_context()
    assert second != first  # an imported module appeared under a src root
    write(root / "pkg" / "__init__.py", "")
    assert lint.cache_context() != second  # INP001 and the package root
    fmt = REGISTRY["format"](root / "pkg" / "a.py", config={}, root=root)
    before = fmt.cache_context()
    write(root / "pkg" / "__init__.pyi", "")
    assert fmt.cache_context() == before  # format reads neither imports nor packages


def test_imported_modules_sees_every_import_form() -> None:
    source = (
        b"import os.path, json as j\n"
        b"from a.b import (\n    c,  # why\n    d as e,\n)\n"
        b"from . import local\n"
        b"def f():\n    from x import y\n"
        b"import q\\\n"
    )
    assert _ruff_context.imported_modules(source) == ("a.b", "a.b.c", "a.b.d", "json", "os.path", "q", "x", "x.y")


def test_src_roots_come_from_the_config_that_sets_them(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root / "ruff.toml", 'extend = "../base/ruff.toml"\n')
    write(tmp_path / "base" / "ruff.toml", 'src = ["lib"]\n')
    write(root / "m.py", "import mylib\n")
    lint = _lint(root)
    before = lint.cache_context()
    write(root / "lib" / "mylib.py", "")  # relative to the extended file, not the root
    assert lint.cache_context() == before
    write(tmp_path / "base" / "lib" / "mylib.py", "")
    assert lint.cache_context() != before


def test_a_replaced_ruff_binary_is_looked_up_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "ruff"
    binary.write_text("one", encoding="utf-8")
    versions = iter(["1.0", "2.0"])
    monkeypatch.setattr(_tools, "_ruff_seen", None)
    monkeypatch.setattr(_tools, "_ruff", lambda: _tools.Tool("ruff", (str(binary),), next(versions)))
    monkeypatch.setattr(_tools, "_clock", lambda: time.time_ns() + 10 * RACY_WINDOW_NS)
    first = _tools.find_tool("ruff")
    assert first is not None and _tools.find_tool("ruff") is first  # remembered while unchanged
    binary.write_text("two", encoding="utf-8")  # same size; the ctime moves
    upgraded = _tools.find_tool("ruff")
    assert upgraded is not None and upgraded.version == "2.0"
