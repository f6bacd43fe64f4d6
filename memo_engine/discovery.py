"""Which files a run validates: git's view of the tree where there is one, else a walk.

A file named explicitly is taken even if git ignores it; directories are listed by one
``git ls-files`` call (tracked plus untracked-not-ignored files), or walked outside git,
skipping VCS, virtual environment, cache and build directories. ``include``/``exclude``
globs (gitignore syntax, relative to the root) narrow the result.
"""

from __future__ import annotations

import os
import stat
import subprocess  # nosec B404 - runs only git ls-files, with a fixed argv and no shell
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from memo.engine.errors import EngineError
from memo.walk import directories

if TYPE_CHECKING:
    import pathspec

SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "__pycache__",
        "node_modules",
        "build",
        "dist",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
        ".benchmarks",
        "site-packages",
        "dist-packages",
    }
)
"""Directories never walked into outside git (and never taken from git's untracked files).

Installed third-party code (``site-packages``) is never the project's own.
"""


def _is_regular_file(path: str) -> bool:
    """True for a regular file or a symlink to one; False for FIFOs, devices, dangling links, loops."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def pruned(name: str, path: str) -> bool:
    """Whether a directory walk (or git's untracked files) skips directory ``name`` at ``path``."""
    if name in SKIPPED_DIRS or name.endswith(".egg-info"):
        return True
    # A virtual environment under any name carries pyvenv.cfg.
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def walk_files(top: str) -> Iterator[str]:
    """Regular files under ``top``, skipping VCS, virtual environment, cache and build directories.

    Symlinks to directories are not followed (no loops); symlinks to files are listed
    when they resolve to a regular file. Unreadable directories are skipped.
    """
    for _, entries in directories(top, lambda entry: not pruned(entry.name, entry.path)):
        for entry in entries:
            try:
                if not entry.is_dir(follow_symlinks=False) and entry.is_file() and _is_regular_file(entry.path):
                    yield entry.path
            except OSError:
                continue


def git_files(root: str) -> list[str] | None:
    """Files git shows under ``root`` (tracked, plus untracked not ignored), or None outside git.

    One ``git ls-files`` call. Untracked files inside directories that ``walk_files``
    would skip (an un-ignored virtual environment, say) are left out.
    """
    try:
        completed = subprocess.run(  # nosec B603 B607 - fixed argv, no shell
            ["git", "ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if completed.returncode != 0:
        return None
    files: dict[str, None] = {}
    pruned_dirs: dict[str, bool] = {}
    for record in completed.stdout.split(b"\0"):
        if len(record) < 3:
            continue
        tag, name = record[:1], os.fsdecode(record[2:])
        path = os.path.join(root, name)
        if tag == b"?" and _inside_pruned_dir(root, name, pruned_dirs):
            continue
        files[path] = None
    return [path for path in files if _is_regular_file(path)]


def _inside_pruned_dir(root: str, name: str, memo_: dict[str, bool]) -> bool:
    parts = name.split("/")[:-1]
    current = root
    for part in parts:
        current = os.path.join(current, part)
        known = memo_.get(current)
        if known is None:
            known = memo_[current] = pruned(part, current)
        if known:
            return True
    return False


def _spec(patterns: Sequence[str]) -> pathspec.GitIgnoreSpec | None:
    if not patterns:
        return None
    import pathspec  # only a run with include/exclude patterns needs it

    return pathspec.GitIgnoreSpec.from_lines(patterns)


def discover(
    root: Path,
    paths: Iterable[str | os.PathLike[str]] | None = None,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[Path]:
    """The files a run validates, sorted: git's view of the tree where there is one, else a walk.

    ``paths`` (files or directories, relative to ``root``) narrow the run; a file named
    explicitly is taken even if git ignores it, and so is a directory git ignores whole.
    ``include``/``exclude`` are gitignore-style globs matched against paths relative to
    ``root``. Raises ``EngineError`` for a
    path that does not exist or is neither a regular file nor a directory.
    """
    top = os.path.abspath(root)
    if not os.path.isdir(top):
        raise EngineError(f"{root}: not a directory")
    targets = [os.path.abspath(os.path.join(top, os.fspath(path))) for path in (paths or [top])]
    explicit, directories = _split_targets(targets)
    found: dict[str, None] = dict.fromkeys(explicit)
    if directories:
        found.update(dict.fromkeys(_files_under(top, directories)))
    include_spec, exclude_spec = _spec(include), _spec(exclude)
    selected = [
        Path(path)
        for path in found
        if _selected(os.path.relpath(path, top).replace(os.sep, "/"), include_spec, exclude_spec)
    ]
    selected.sort()
    return selected


def _split_targets(targets: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(files, directories)`` named; ``EngineError`` for anything else or nothing at all."""
    explicit: list[str] = []
    directories: list[str] = []
    for target in targets:
        if os.path.isdir(target):
            directories.append(target)
        elif _is_regular_file(target):
            explicit.append(target)
        elif os.path.lexists(target):
            raise EngineError(f"{target}: not a regular file or directory")
        else:
            raise EngineError(f"{target}: no such file or directory")
    return explicit, directories


def _files_under(top: str, directories: Sequence[str]) -> Iterator[str]:
    """The files in ``directories``: git's listing of ``top`` where there is one, else a walk."""
    listed = git_files(top)
    for directory in directories:
        if listed is None:
            yield from walk_files(directory)
            continue
        prefix = directory.rstrip(os.sep) + os.sep
        inside = [path for path in listed if path.startswith(prefix)]
        # Nothing from git: the directory is ignored as a whole (a tree inside another
        # project's ignored build or install directory). It was named, so it is walked.
        yield from inside or walk_files(directory)


def _selected(relative: str, include: pathspec.GitIgnoreSpec | None, exclude: pathspec.GitIgnoreSpec | None) -> bool:
    if include is not None and not include.match_file(relative):
        return False
    return exclude is None or not exclude.match_file(relative)
