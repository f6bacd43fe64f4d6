"""The ruff context remembers what a directory owes to its surroundings, and forgets it when that changes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from memo.validators import _ruff_context
from memo.validators._ruff_context import Observer, imported_modules, snapshot


def _settled_observer() -> Observer:
    """An observer whose clock is far ahead, so every file counts as settled (outside the racy window)."""
    return Observer(clock=lambda: time.time_ns() + 3_600 * 10**9)


def _digest(root: Path, path: Path, observer: Observer, *, lint: bool = True) -> str:
    modules = imported_modules(path.read_bytes()) if lint else None
    return snapshot(str(root), str(path), use_config=True, modules=modules, observer=observer).digest


def test_files_of_one_directory_share_one_walk_of_its_surroundings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pkg").mkdir()
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / "pkg" / name).write_text("import os\n", encoding="utf-8")
    walks = []
    original = _ruff_context._directory_lines

    def counted(*args: object) -> object:
        walks.append(args)
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_ruff_context, "_directory_lines", counted)
    observer = _settled_observer()
    digests = {_digest(tmp_path, tmp_path / "pkg" / name, observer) for name in ("a.py", "b.py", "c.py")}
    assert len(walks) == 1
    assert len(digests) == 1


@pytest.mark.parametrize("lint", [True, False])
def test_a_config_added_above_a_remembered_directory_changes_the_context(tmp_path: Path, lint: bool) -> None:
    (tmp_path / "proj" / "sub").mkdir(parents=True)
    module = tmp_path / "proj" / "sub" / "m.py"
    module.write_text("import json\n", encoding="utf-8")
    observer = _settled_observer()
    before = _digest(tmp_path / "proj", module, observer, lint=lint)
    assert _digest(tmp_path / "proj", module, observer, lint=lint) == before
    (tmp_path / "proj" / "ruff.toml").write_text("line-length = 80\n", encoding="utf-8")
    after = _digest(tmp_path / "proj", module, observer, lint=lint)
    assert after != before
    assert after == _digest(tmp_path / "proj", module, _settled_observer(), lint=lint)


def test_an_edited_config_changes_the_context_of_a_remembered_directory(tmp_path: Path) -> None:
    config = tmp_path / "ruff.toml"
    config.write_text("line-length = 80\n", encoding="utf-8")
    module = tmp_path / "m.py"
    module.write_text("x = 1\n", encoding="utf-8")
    observer = _settled_observer()
    before = _digest(tmp_path, module, observer)
    config.write_text("line-length = 99\n", encoding="utf-8")
    assert _digest(tmp_path, module, observer) != before


def test_the_import_scan_reads_statements_not_mentions() -> None:
    source = (
        b'from a import (\n    b,\n    c,  # import d\n)\nx = "import e"\n  import f.g, h as k\nfrom .rel import z\n'
    )
    assert imported_modules(source) == ("a", "a.b", "a.c", "f.g", "h")


def test_remembered_imports_are_a_window_of_recent_files_not_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_ruff_context, "_MAX_IMPORTS", 4)
    observer = _settled_observer()
    paths = []
    for number in range(10):
        path = tmp_path / f"m{number}.py"
        path.write_text(f"import mod{number}\n", encoding="utf-8")
        paths.append(path)

    assert [observer.imports(str(path)) for path in paths] == [(f"mod{n}",) for n in range(10)]
    assert 4 <= len(observer._imports) <= 8
    assert all(str(path) in observer._imports for path in paths[-4:])
    assert str(paths[0]) not in observer._imports
    # A forgotten file is read again, and answers the same.
    assert observer.imports(str(paths[0])) == ("mod0",)
