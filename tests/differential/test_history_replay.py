"""A scripted git history, replayed step by step: at every step a warm ``memo run`` equals ``--no-cache``.

One cache directory serves the whole history, as on a developer's machine: each step
edits the tree (content edits, new files, renames, config edits, ``touch``, a same-size
edit with its mtime restored, a checkout back to an earlier commit and forward again),
then memo runs every default dimension twice, cached and with ``--no-cache``, and the
two reports must agree on every result (dimension, file, passed, error, findings),
timings and ``cached`` aside.

The history is replayed once per module; each step is its own test. Steps whose
staleness would carry into later steps (an entry served under an unchanged key stays
stale) come last, so a failure points at the step that caused it.
"""

from __future__ import annotations

import os
import subprocess  # nosec B404
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.differential._tools_support import MemoRun, run_memo, write_project

BASE_TOML = '[lint]\nselect = ["E", "F", "I", "INP", "S"]\n'
RUFF_TOML = 'extend = "base.toml"\nline-length = 100\n'

A_PY = """\
import os
import sys


def main(argv):
    assert argv
    return eval(argv[0]), os.sep, sys.argv
"""

B_PY = """\
import subprocess


def run(command):
    return subprocess.call(command, shell=True)
"""

USES_PROBE = """\
import json

import attr
import zzz_probe


def dump(value):
    return json.dumps(value), attr, zzz_probe
"""
"""``attr`` and ``zzz_probe`` are one third-party block until ``zzz_probe.py`` appears at the
root: ruff then counts it first-party, and the block is unsorted (I001)."""

INITIAL = {
    "pyproject.toml": '[project]\nname = "history"\nversion = "0"\n',
    "base.toml": BASE_TOML,
    "ruff.toml": RUFF_TOML,
    "app/a.py": A_PY,
    "app/b.py": B_PY,
    "tools/uses_probe.py": USES_PROBE,
}


def git(root: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)  # nosec B603 B607


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def same_size_edit_keeping_mtime(path: Path, old: str, new: str) -> None:
    """An edit that keeps the size and restores the mtime, as ``cp -p`` or ``touch -r`` would."""
    assert len(old) == len(new)
    info = path.stat()
    edit(path, old, new)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def touch(path: Path) -> None:
    os.utime(path)


@dataclass(frozen=True)
class Step:
    name: str
    act: Callable[[Path], None]


def _first_commit(root: Path) -> None:
    write_project(root, INITIAL)
    git(root, "init", "-q", "-b", "main")
    commit(root, "first")
    git(root, "tag", "first")


STEPS = [
    Step("initial tree", _first_commit),
    Step("nothing changed", lambda root: None),
    Step("edit a file", lambda root: edit(root / "app/a.py", "argv[0]", "argv[-1]")),
    Step("add a file", lambda root: write_project(root, {"app/c.py": "import pickle\n\nload = pickle.loads\n"})),
    Step("rename a file", lambda root: git(root, "mv", "app/b.py", "app/b_renamed.py")),
    Step("commit", lambda root: commit(root, "second")),
    Step("edit the ruff config", lambda root: edit(root / "ruff.toml", "line-length = 100", "line-length = 40")),
    Step(
        "edit [tool.bandit] in pyproject",
        lambda root: edit(root / "pyproject.toml", "[project]", '[tool.bandit]\nskips = ["B101"]\n\n[project]'),
    ),
    Step(
        "same-size [tool.bandit] edit, mtime restored",
        lambda root: same_size_edit_keeping_mtime(root / "pyproject.toml", '"B101"', '"B307"'),
    ),
    Step("touch a file", lambda root: touch(root / "app/a.py")),
    Step("add a .bandit file", lambda root: write_project(root, {".bandit": "[bandit]\nskips = B602\n"})),
    Step("commit again", lambda root: commit(root, "third")),
    Step("checkout back to the first commit", lambda root: git(root, "checkout", "-q", "first")),
    Step("checkout forward again", lambda root: git(root, "checkout", "-q", "main")),
    Step("delete a file", lambda root: (root / "app/c.py").unlink()),
    # Last, each followed by its undoing where it can be undone: a stale entry served
    # here would otherwise be served again in every later step.
    Step(
        "edit the config ruff.toml extends",
        lambda root: edit(root / "base.toml", '"E", "F", "I", "INP", "S"', '"E", "F", "I", "INP"'),
    ),
    Step("undo the edit of the extended config", lambda root: (root / "base.toml").write_text(BASE_TOML)),
    Step(
        "add a first-party module an unchanged file imports",
        lambda root: write_project(root, {"zzz_probe.py": "VALUE = 1\n"}),
    ),
    Step("remove that module again", lambda root: (root / "zzz_probe.py").unlink()),
    Step(
        "add __init__.py next to unchanged modules",
        lambda root: write_project(root, {"app/__init__.py": ""}),
    ),
]


@dataclass(frozen=True)
class Outcome:
    cached: MemoRun
    uncached: MemoRun


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Replays every step once, with one cache directory throughout."""
    base = tmp_path_factory.mktemp("history")
    root = base / "repo"
    root.mkdir()
    cache = base / "cache"
    outcomes: dict[str, Outcome] = {}
    for step in STEPS:
        step.act(root)
        cached = run_memo(root, [], cache)
        outcomes[step.name] = Outcome(cached, run_memo(root, [], cache, no_cache=True))
    return outcomes


def _param(step: Step) -> object:
    return pytest.param(step.name, id=step.name.replace(" ", "-"))


@pytest.mark.parametrize("name", [_param(step) for step in STEPS])
def test_a_warm_run_equals_a_no_cache_run_at_every_step(name: str, history: dict[str, Outcome]) -> None:
    outcome = history[name]
    assert not outcome.uncached.errors, outcome.uncached.errors
    assert outcome.uncached.results, "every step leaves files to check"
    differing = sorted(set(outcome.cached.results) ^ set(outcome.uncached.results))
    assert outcome.cached.results == outcome.uncached.results, differing


def test_the_history_hits_the_cache(history: dict[str, Outcome]) -> None:
    assert history["nothing changed"].cached.cache_hits > 0
    assert history["checkout forward again"].cached.cache_hits > 0
