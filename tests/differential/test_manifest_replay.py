"""Thirty commits of a scripted history, checked out one by one: the manifest never answers stale.

At every commit memo runs three times with one cache directory: cached (answered by the
checks, by the changed files' checks, or from the manifest, whichever applies), with
``--no-cache``, and cached again with nothing changed in between. The first must equal
``--no-cache``; the last must be answered from the manifest alone (``fastpath.LAST``)
and say the same. The history edits, adds, deletes and renames files, edits ruff's
config and the config it extends, adds a nested config, an ``__init__.py``, a module
another file imports, a ``.gitignore`` and an ``exclude`` entry, a ``.bandit``, and
makes a same-size edit with its mtime restored; checkouts go back and forth.

Runs are in-process (``memo.cli.main``) with the racy window at zero, so a checkout
just before a run counts as settled; ``tests/test_manifest.py`` covers the window.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memo import witness
from memo.cli import fastpath, main

DIMS = "syntax,lint,format,security,complexity"

Change = Callable[[Path], None]


def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True, env=env)  # nosec
    return done.stdout.strip()


def put(name: str, text: str) -> Change:
    def change(root: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    return change


def drop(name: str) -> Change:
    return lambda root: (root / name).unlink()


def move(old: str, new: str) -> Change:
    return lambda root: (root / old).rename(root / new)


def same_size(name: str, old: str, new: str) -> Change:
    def change(root: Path) -> None:
        path = root / name
        info = path.stat()
        text = path.read_text(encoding="utf-8")
        assert old in text and len(old) == len(new)
        path.write_text(text.replace(old, new), encoding="utf-8")
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))

    return change


def module(index: int, extra: str = "") -> str:
    return f'"""Module {index}."""\n\nimport os\n\n\ndef value_{index}(x):\n    return x + {index}{extra}\n'


PYPROJECT = '[project]\nname = "replay"\n\n[tool.ruff]\nextend = "ruff-base.toml"\n'

HISTORY: list[tuple[str, list[Change]]] = [
    (
        "first",
        [
            put("pyproject.toml", PYPROJECT),
            put("ruff-base.toml", '[lint]\nselect = ["E", "F", "INP", "I"]\n'),
            put("app/__init__.py", ""),
            put("app/one.py", module(1)),
            put("app/two.py", module(2)),
            put("lib/three.py", module(3)),
            put("lib/uses.py", "import json\n\nimport attr\nimport zzz_probe\n\nX = json, attr, zzz_probe\n"),
        ],
    ),
    ("edit a file", [put("app/one.py", module(1, " * 2"))]),
    ("add a file", [put("app/four.py", module(4))]),
    ("delete a file", [drop("app/two.py")]),
    ("rename a file", [move("lib/three.py", "lib/three_renamed.py")]),
    ("add an __init__.py", [put("lib/__init__.py", "")]),
    ("edit the extended ruff config", [put("ruff-base.toml", '[lint]\nselect = ["E", "F"]\n')]),
    ("add a nested ruff config", [put("lib/ruff.toml", '[lint]\nselect = ["E", "F", "S"]\n')]),
    ("edit the nested ruff config", [put("lib/ruff.toml", '[lint]\nselect = ["F"]\n')]),
    ("add a first-party module", [put("zzz_probe.py", "VALUE = 1\n")]),
    (
        "a complex function",
        [
            put(
                "app/complex.py",
                "def f(a):\n"
                + "".join(f"    if a == {i}:\n        return {i}\n" for i in range(12))
                + "    return -1\n",
            )
        ],
    ),
    (
        "a security finding",
        [put("app/shell.py", "import subprocess\n\n\ndef run(c):\n    return subprocess.call(c, shell=True)\n")],
    ),
    ("add a .bandit", [put(".bandit", "[bandit]\nskips = B602\n")]),
    ("a syntax error", [put("app/broken.py", "def broken(:\n    pass\n")]),
    ("fix the syntax error", [put("app/broken.py", "def broken():\n    pass\n")]),
    ("same-size edit, mtime restored", [same_size("app/one.py", "x + 1 * 2", "x - 1 * 2")]),
    ("ignore a directory", [put(".gitignore", "generated/\n"), put("generated/gen.py", module(99))]),
    (
        "exclude a file",
        [
            put(
                "pyproject.toml",
                PYPROJECT + '\n[tool.memo]\nexclude = ["app/four.py"]\n',
            )
        ],
    ),
    ("unformatted code", [put("app/ugly.py", "x=[1,2 ,3]\n")]),
    ("remove the first-party module", [drop("zzz_probe.py")]),
    ("several edits", [put("app/one.py", module(1, " * 3")), put("lib/uses.py", "import json\n\nX = json\n")]),
    ("unignore", [drop(".gitignore")]),
    ("move a package", [move("lib", "library")]),
    ("edit the root config", [put("ruff-base.toml", '[lint]\nselect = ["E", "F", "I"]\n')]),
    ("drop the .bandit", [drop(".bandit")]),
    ("a deeper tree", [put("pkg/sub/deep/mod.py", module(7)), put("pkg/sub/__init__.py", "")]),
    ("rename a directory", [move("pkg/sub/deep", "pkg/sub/deeper")]),
    ("an empty file", [put("app/empty.py", "")]),
    ("back to plain", [put("app/ugly.py", "x = [1, 2, 3]\n")]),
    ("last edit", [put("app/four.py", module(4, " - 4"))]),
]


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    summary = {k: v for k, v in report["summary"].items() if k not in ("wall_time_s", "cache_hits", "cache_misses")}
    results = [{k: v for k, v in r.items() if k not in ("cached", "duration_s")} for r in report["results"]]
    return {"summary": summary, "results": results}


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, str]]]:
    """The history as a git repository, and its commits (message, sha) in order."""
    root = tmp_path_factory.mktemp("replay") / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commits = []
    for message, changes in HISTORY:
        for change in changes:
            change(root)
        git(root, "add", "-A")
        git(root, "commit", "-q", "--allow-empty", "-m", message)
        commits.append((message, git(root, "rev-parse", "HEAD")))
    return root, commits


def test_thirty_commits_replayed_give_the_no_cache_answer_and_the_manifest_wherever_nothing_changed(
    repository: tuple[Path, list[tuple[str, str]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, commits = repository
    assert len(commits) == 30
    monkeypatch.setattr(witness, "RACY_WINDOW_NS", 0)
    monkeypatch.chdir(root)
    cache = str(tmp_path / "cache")

    def run(*extra: str) -> tuple[dict[str, Any], str | None]:
        capsys.readouterr()
        fastpath.LAST = None
        main(["run", "--format", "json", "--dimension", DIMS, "--cache-dir", cache, *extra])
        return comparable(json.loads(capsys.readouterr().out)), fastpath.LAST

    # Forward through the history, then back and forth: a checkout changes many files at once.
    order = [*commits, commits[10], commits[-1], commits[0], commits[-1]]
    answered = []
    for message, sha in order:
        git(root, "checkout", "-q", sha)
        cached, how = run()
        uncached, _ = run("--no-cache")
        assert cached == uncached, message
        again, how_again = run()
        assert how_again == "manifest", message
        assert again == uncached, message
        answered.append(how)
    assert "partly" in answered  # some commits changed file contents only
