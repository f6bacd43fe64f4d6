"""Which files each dimension of a run reports on: its tool's own set among the files discovered.

Discovery (``memo.engine.discovery``) says what the user named; each validator's
``file_set`` says which of those its tool checks when run bare at the root (``ruff
check .``, ``ruff format --check .``, ``bandit -r .``). A dimension reports on the files
in both; one without a set (its tool cannot say, or it has no tool) on every discovered
file ``applies_to`` accepts. ``FileSet.witnesses`` are what a warm run must stat to know
a set still stands.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from memo.validators import FileSet, Validator
from memo.validators._fileset import one_run

__all__ = ["FileSet", "FileSets", "file_sets", "selected"]

FileSets = Mapping[type[Validator], FileSet | None]
"""Each validator's file set, or None where every file ``applies_to`` accepts is checked."""


def file_sets(
    root: Path,
    validators: Sequence[type[Validator]],
    config_for: Callable[[type[Validator]], Mapping[str, Any]],
    candidates: Sequence[Path],
) -> dict[type[Validator], FileSet | None]:
    """Each per-file validator's file set at ``root`` (None where it has none or its tool cannot say)."""
    found: dict[type[Validator], FileSet | None] = {}
    with one_run():
        for cls in validators:
            if cls.per_file and cls not in found:
                try:
                    found[cls] = cls.file_set(root, config_for(cls), candidates)
                except Exception:  # a user's validator: its checks run, and say what is wrong
                    found[cls] = None
    return found


def selected(cls: type[Validator], files: Sequence[Path], file_set: FileSet | None) -> list[Path]:
    """The ``files`` ``cls`` reports on: those in its set, or those it ``applies_to`` without one."""
    if file_set is None:
        return [path for path in files if cls.applies_to(path)]
    members = file_set.files
    return [path for path in files if str(path) in members]
