"""The corpora: this interpreter's standard library, and generated trees of small files.

The standard library is real code nobody wrote for this suite, present wherever Python
is. Its ``.py`` files (site-packages left out) are copied to a temporary directory so a
benchmark may modify them. A subset of N files is fixed and documented: every k-th file
of the sorted list of relative paths, with k = total // N, the first N of those.
"""

from __future__ import annotations

import os
import shutil
import sysconfig
import time
from pathlib import Path

from memo.engine.discovery import SKIPPED_DIRS
from memo.hashing import RACY_WINDOW_NS


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files() -> list[Path]:
    """Every ``.py`` file of the standard library, relative to its root, sorted; no site-packages."""
    root = stdlib_root()
    found: list[Path] = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in ("site-packages", "__pycache__"))
        found.extend(Path(directory, name).relative_to(root) for name in names if name.endswith(".py"))
    return sorted(found, key=lambda p: p.as_posix())


def subset(files: list[Path], count: int | None) -> list[Path]:
    """The documented subset: every k-th file, k = len(files) // count; all files for None."""
    if count is None or count >= len(files):
        return list(files)
    step = len(files) // count
    return files[::step][:count]


def copy_stdlib(destination: Path, count: int | None) -> list[Path]:
    """Copy the subset into ``destination``; the absolute paths of the copies, sorted."""
    root = stdlib_root()
    copies: list[Path] = []
    for relative in subset(stdlib_files(), count):
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, target)
        copies.append(target)
    return copies


def validated_files(root: Path, files: list[Path]) -> int:
    """How many of ``files`` (under ``root``) a run over ``root`` validates.

    Discovery skips virtual environment and build directories by name, and the standard
    library has a ``venv`` package: the whole library is 1,790 files, of which memo checks
    1,788. A row's expected check count is this times its dimensions, so a run that
    silently checked fewer files (or none) fails its row instead of flattering it.
    """
    return sum(1 for path in files if not SKIPPED_DIRS.intersection(path.relative_to(root).parent.parts))


def generate_tree(destination: Path, count: int, per_directory: int = 100) -> list[Path]:
    """``count`` small, distinct, valid Python modules, ``per_directory`` to a directory."""
    files: list[Path] = []
    for index in range(count):
        directory = destination / f"pkg{index // per_directory:04d}"
        if index % per_directory == 0:
            directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"mod{index:06d}.py"
        path.write_text(
            f'"""Generated module {index}."""\n\n\ndef value_{index}(x: int) -> int:\n    return x * {index} + 1\n',
            encoding="utf-8",
        )
        files.append(path)
    return files


def wait_out_racy_window(paths: list[Path]) -> None:
    """Wait until every file is older than memo's racy window.

    A file changed within the last two seconds is re-read on every lookup rather than
    trusted by its stat (git's "racily clean" rule); a benchmark of unchanged files must
    measure files that are settled, as a user's files are.
    """
    newest = max((max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in paths), default=0)
    remaining = (newest + RACY_WINDOW_NS - time.time_ns()) / 1e9 + 0.05
    if remaining > 0:
        time.sleep(remaining)
