"""Checks planned together observe their surroundings once; the check after a tool ran looks afresh."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import memo
from memo import MemoryStore, ValidationCache, bind_cache
from memo.validators import LintValidator, SecurityValidator, _bandit_config, _tools
from memo.validators import _ruff_context as ruff_context
from memo.validators._ruff_context import Observer, snapshot


def _project(root: Path, files: int) -> list[Path]:
    (root / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n", encoding="utf-8")
    (root / "pkg").mkdir()
    paths = []
    for number in range(files):
        path = root / "pkg" / f"m{number}.py"
        path.write_text("import os\n", encoding="utf-8")
        paths.append(path)
    return paths


def _counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[object]:
    calls: list[object] = []
    original = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_there_is_a_planning_scope_only_while_prefetch_plans(tmp_path: Path) -> None:
    seen: list[object] = []

    class Probe(LintValidator):
        def cache_context(self) -> str:
            seen.append(memo.planning_scope())
            return ""

    path = _project(tmp_path, 1)[0]
    with bind_cache(ValidationCache(store=MemoryStore()), root=tmp_path):
        memo.prefetch([Probe(path, {}, tmp_path), Probe(path, {}, tmp_path)])
        Probe(path, {}, tmp_path).cache_context()

    assert isinstance(seen[0], dict) and seen[1] is seen[0]  # one pass, one scope
    assert seen[2] is None
    assert memo.planning_scope() is None


def test_files_planned_together_look_at_their_directory_and_tools_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _project(tmp_path, 5)
    walks = _counting(monkeypatch, Observer, "directory_lines")
    lookups = _counting(monkeypatch, _tools, "find_tool")
    configs = _counting(monkeypatch, _bandit_config, "project_config")
    validators = [cls(path, {}, tmp_path) for path in paths for cls in (LintValidator, SecurityValidator)]
    with bind_cache(ValidationCache(store=MemoryStore()), root=tmp_path):
        memo.prefetch(validators)

    assert len(walks) == 1  # five files of one directory: one look at its surroundings
    assert sorted(call[0] for call in lookups) == ["bandit", "ruff"]  # type: ignore[index]
    assert len(configs) == 1


def test_planned_one_at_a_time_each_file_looks_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _project(tmp_path, 3)
    walks = _counting(monkeypatch, Observer, "directory_lines")
    with bind_cache(ValidationCache(store=MemoryStore()), root=tmp_path):
        for path in paths:
            memo.prefetch([LintValidator(path, {}, tmp_path)])

    assert len(walks) == 3


def test_the_check_after_ruff_ran_sees_a_config_changed_since_the_planning_pass(tmp_path: Path) -> None:
    path = _project(tmp_path, 1)[0]
    observer = Observer(clock=lambda: time.time_ns() + 3_600 * 10**9)
    scope: dict[Any, Any] = {}
    taken = snapshot(str(tmp_path), str(path), use_config=True, modules=("os",), observer=observer, scope=scope)
    assert scope  # the pass remembered what it saw

    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 80\n", encoding="utf-8")

    assert not taken.still_holds()
    again = snapshot(str(tmp_path), str(path), use_config=True, modules=("os",), observer=observer, scope=scope)
    assert again.digest == taken.digest  # within the one pass, the first look stands
    fresh = ruff_context.snapshot(str(tmp_path), str(path), use_config=True, modules=("os",), observer=observer)
    assert fresh.digest != taken.digest
