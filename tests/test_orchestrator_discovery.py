"""Which files a run validates: git's view in a work tree, a pruned walk elsewhere, globs, odd files."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memo import ValidationCache
from memo.engine import discover
from orchestrator import OrchestratorError, ValidationOrchestrator
from tests.helpers import counting_validator_class, write


def relative(root: Path, files: list[Path]) -> set[str]:
    return {path.relative_to(root).as_posix() for path in files}


def finishes(call: Callable[[], Any], seconds: float = 30.0) -> Any:
    """``call()``'s value; fails the test (instead of hanging it) if it does not return in time."""
    box: list[tuple[Any, BaseException | None]] = []

    def target() -> None:
        try:
            box.append((call(), None))
        except BaseException as exc:
            box.append((None, exc))

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert box, f"did not finish within {seconds}s (hung?)"
    value, error = box[0]
    if error is not None:
        raise error
    return value


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_work_tree_honours_gitignore(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    write(root / ".gitignore", "ignored/\n*.log\n")
    write(root / "src/app.py", "x = 1\n")
    write(root / "ignored/skip.py", "x = 1\n")
    write(root / "debug.log", "log\n")
    write(root / "build/tracked.py", "x = 1\n")
    write(root / "build/untracked.py", "x = 1\n")
    write(root / ".venv/lib/site.py", "x = 1\n")
    write(root / ".venv/pyvenv.cfg", "home = /usr\n")
    subprocess.run(["git", "add", "build/tracked.py"], cwd=root, check=True, env=env)

    found = relative(root, discover(root))
    # Tracked files are taken even under build/; untracked ones there and in an
    # un-ignored virtual environment are not; ignored ones never.
    assert found == {".gitignore", "src/app.py", "build/tracked.py"}
    assert relative(root, discover(root, ["ignored/skip.py"])) == {"ignored/skip.py"}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_directory_git_ignores_whole_is_walked_when_named(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    write(root / ".gitignore", "vendor/\n")
    write(root / "vendor/lib/mod.py", "x = 1\n")
    assert relative(root / "vendor", discover(root / "vendor")) == {"lib/mod.py"}


def test_walk_outside_git_skips_venvs_caches_and_build_output(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    write(root / "pkg/mod.py", "x = 1\n")
    write(root / "pkg/__pycache__/mod.cpython-311.pyc", "")
    write(root / "node_modules/dep/index.js", "")
    write(root / "venv/lib/x.py", "")
    write(root / "env-with-other-name/pyvenv.cfg", "")
    write(root / "env-with-other-name/lib/y.py", "")
    write(root / "dist/pkg.whl", "")
    write(root / "pkg.egg-info/PKG-INFO", "")
    write(root / ".git/config", "")
    write(root / ".tox/py311/z.py", "")
    assert relative(root, discover(root)) == {"pkg/mod.py"}


def test_include_and_exclude_globs(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for name in ("src/a.py", "src/gen/b.py", "tests/test_a.py", "setup.cfg"):
        write(root / name, "")
    assert relative(root, discover(root, include=["*.py"])) == {"src/a.py", "src/gen/b.py", "tests/test_a.py"}
    assert relative(root, discover(root, include=["src/"], exclude=["gen/"])) == {"src/a.py"}
    assert relative(root, discover(root, exclude=["tests", "*.cfg"])) == {"src/a.py", "src/gen/b.py"}


async def test_globs_from_config_narrow_the_run(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    write(root / "keep.py", "")
    write(root / "generated/skip.py", "")
    counting = counting_validator_class()
    with ValidationCache(tmp_path / "cache") as cache:
        report = await ValidationOrchestrator(root, {"exclude": ["generated/"]}, [counting], cache).run()
    assert [Path(r.file_path or "").name for r in report.results] == ["keep.py"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
async def test_fifo_and_symlink_loops_do_not_hang(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    write(root / "ok.py", "x = 1\n")
    os.mkfifo(root / "pipe.py")
    os.symlink("self.py", root / "self.py")  # a link to itself: ELOOP
    os.symlink("missing.py", root / "dangling.py")
    (root / "sub").mkdir()
    os.symlink("..", root / "sub" / "up")  # a directory loop
    os.symlink("ok.py", root / "alias.py")  # a link to a regular file is a file

    assert finishes(lambda: relative(root, discover(root))) == {"ok.py", "alias.py"}
    counting = counting_validator_class()
    with ValidationCache(tmp_path / "cache") as cache:
        orchestrator = ValidationOrchestrator(root, {}, [counting], cache)
        report = finishes(orchestrator.run_sync)
    assert sorted(Path(r.file_path or "").name for r in report.results) == ["alias.py", "ok.py"]
    assert report.errors == 0


def test_missing_or_odd_paths_are_clear_errors(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    write(root / "a.py", "")
    with pytest.raises(OrchestratorError, match="no such file or directory"):
        discover(root, ["nope.py"])
    with pytest.raises(OrchestratorError, match="not a directory"):
        discover(tmp_path / "absent")
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "pipe")
        with pytest.raises(OrchestratorError, match="not a regular file"):
            finishes(lambda: discover(root, ["pipe"]))


def test_explicit_paths_narrow_the_run(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for name in ("a/x.py", "a/y.py", "b/z.py", "c.py"):
        write(root / name, "")
    assert relative(root, discover(root, ["a", "c.py"])) == {"a/x.py", "a/y.py", "c.py"}
