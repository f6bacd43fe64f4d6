"""memo.walk.directories: the one tree walk discovery, the manifest's recording and ruff's file sets share."""

from __future__ import annotations

import os
from pathlib import Path

from memo.walk import directories


def _tree(root: Path) -> None:
    for relative in ("a/x.py", "a/b/y.py", "skip/z.py", "top.py"):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def test_every_admitted_directory_is_listed_once_with_its_entries(tmp_path: Path) -> None:
    _tree(tmp_path)
    seen = {
        os.path.relpath(directory, tmp_path): sorted(entry.name for entry in entries)
        for directory, entries in directories(str(tmp_path), lambda entry: entry.name != "skip")
    }
    assert seen == {".": ["a", "skip", "top.py"], "a": ["b", "x.py"], os.path.join("a", "b"): ["y.py"]}


def test_a_link_to_a_directory_is_never_followed(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / "a" / "loop").symlink_to(tmp_path, target_is_directory=True)
    walked = [os.path.relpath(directory, tmp_path) for directory, _ in directories(str(tmp_path), lambda entry: True)]
    assert sorted(walked) == sorted([".", "a", os.path.join("a", "b"), "skip"])


def test_an_unreadable_or_vanished_directory_comes_with_no_entries(tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    assert list(directories(str(missing), lambda entry: True)) == [(str(missing), [])]
