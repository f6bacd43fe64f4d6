"""Where a project's root is: found upward from what the user named, as ruff finds its config.

The root is where ``[tool.memo]`` is read, what cache keys hold paths relative to, and
where the tools run, so ``memo run src`` from a project checks ``src`` under the
project's own configuration, exactly as ``ruff check src`` does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

ROOT_MARKERS = ("pyproject.toml", "ruff.toml", ".ruff.toml", "setup.cfg", "setup.py", ".git")
"""A directory holding any of these is a project root."""


def _marked(directory: str) -> bool:
    return any(os.path.lexists(os.path.join(directory, marker)) for marker in ROOT_MARKERS)


def search_start(absolute: Sequence[str]) -> str:
    """Where the search for the root starts: the paths' common directory."""
    start = os.path.commonpath(absolute)
    while not os.path.isdir(start):  # a file, or a path that does not exist (discovery says so)
        start = os.path.dirname(start)
    return start


def searched(start: str, root: str) -> list[str]:
    """The directories ``find_root`` looked at for markers, from ``start`` up to ``root``."""
    found = [start]
    while found[-1] != root:
        parent = os.path.dirname(found[-1])
        if parent == found[-1]:
            break
        found.append(parent)
    return found


def find_root(paths: Sequence[str], cwd: str | None = None) -> tuple[Path, list[str] | None]:
    """The project root for ``paths``, and the paths to narrow the run to (None: the whole root).

    The search starts at the paths' common directory (``.`` when none are named, so a
    run from a subdirectory checks that subdirectory, as ruff does) and goes up to the
    first directory with a project marker; without one, the starting directory is the root.
    """
    cwd = os.getcwd() if cwd is None else cwd
    absolute = [os.path.normpath(os.path.join(cwd, path)) for path in paths or ["."]]
    start = search_start(absolute)
    root = start
    probe = start
    while True:
        if _marked(probe):
            root = probe
            break
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    narrowed = None if absolute == [root] else absolute
    return Path(root), narrowed
