"""Each dimension reports on exactly the files its bare tool checks at the root, with its findings and status.

The bare tools run with no file list at the project root (``ruff check .``, ``ruff
format --check .``, ``bandit -r .``, ``radon cc .``); memo runs ``memo run . --dimension
lint,format,security,complexity`` cold, warm, ``--no-cache`` and from another
directory. The trees hold what decides a tool's files: ``extend-exclude`` at the root and in a nested
config, a file git tracks but ``.gitignore`` matches, a notebook, a stub, Markdown, a
``.pyw`` file, a hidden directory bandit's default exclusions match; and one tree has
pip's shape (its ``extend-exclude`` of ``_vendor`` and ``data``, a docs folder of
Markdown, ``[tool.bandit]`` exclusions).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.differential._filesets_support import assert_same_as_bare
from tests.differential._tools_support import write_project

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

UNSORTED = "import sys\nimport os\n\nprint(os, sys)\n"
UNFORMATTED = "x  =  {'a':1}\n"
BRANCHES = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(12))
COMPLEX = "def tangled(x):\n" + BRANCHES + "    return -1\n"
INSECURE = """\
import subprocess


def run(command):
    subprocess.call(command, shell=True)
    return eval(command)
"""


def _notebook(*cells: str) -> str:
    return json.dumps(
        {
            "cells": [
                {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": [source]}
                for source in cells
            ],
            "metadata": {"language_info": {"name": "python"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


def _git(root: Path, *tracked_ignored: str) -> Path:
    """A git repository with every file added, ``tracked_ignored`` forced in despite ``.gitignore``."""
    for argv in (["init", "-q"], ["add", "-A"], *(["add", "-f", name] for name in tracked_ignored)):
        subprocess.run(["git", *argv], cwd=root, check=True, capture_output=True)
    return root


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "elsewhere").mkdir()
    return tmp_path / "cache", tmp_path / "elsewhere"


def test_every_file_type_and_exclusion_matches_the_bare_tools(tmp_path: Path, places: tuple[Path, Path]) -> None:
    root = write_project(
        tmp_path / "shapes",
        {
            "pyproject.toml": '[tool.ruff]\nextend-exclude = ["generated", "legacy_*.py"]\n',
            ".gitignore": "local_settings.py\nbuild/\n",
            "pkg/__init__.py": "",
            "pkg/core.py": UNSORTED,
            "pkg/types.pyi": "def f(x:int)->int: ...\n",
            "pkg/gui.pyw": INSECURE,
            "analysis.ipynb": _notebook("import os\nx  =  1\n", "import sys\n"),
            "docs/guide.md": "# Guide\n\n```python\nx  =  1\n```\n",
            "README.md": "# Shapes\n",
            "generated/table.py": UNSORTED + INSECURE,
            "legacy_io.py": UNFORMATTED,
            "sub/pyproject.toml": '[tool.ruff]\nextend-exclude = ["vendored"]\n',
            "sub/ok.py": "import json\n",
            "sub/vendored/lib.py": UNSORTED,
            "local_settings.py": UNSORTED + INSECURE,
            ".github/scripts/release.py": INSECURE + UNFORMATTED + COMPLEX,
            "bin/deploy": "#!/usr/bin/env python\n" + COMPLEX,
            "pkg/flow.py": COMPLEX,
            "notes.txt": "not python\n",
        },
    )
    _git(root, "local_settings.py")
    bare = assert_same_as_bare(root, *places)
    # The shapes are all there, so the comparison above covered each of them.
    assert {"analysis.ipynb", "pkg/types.pyi", "pyproject.toml"} <= bare["lint"].files
    assert {"docs/guide.md", "README.md", "analysis.ipynb"} <= bare["format"].files
    assert not {"generated/table.py", "legacy_io.py", "sub/vendored/lib.py", "local_settings.py"} & (
        bare["lint"].files | bare["format"].files
    )
    assert {"local_settings.py", "generated/table.py", "pkg/gui.pyw"} <= bare["security"].files
    # bandit's default "-x .git" becomes ".git/*" where .git is a directory, so it no longer
    # matches ".github" as a substring: bandit checks it in a git checkout.
    assert ".github/scripts/release.py" in bare["security"].files
    assert any(finding[1] == 2 for finding in bare["lint"].findings), "a finding in the notebook's second cell"
    # radon skips hidden directories and reads a python script's #! line
    assert "bin/deploy" in bare["complexity"].files and ".github/scripts/release.py" not in bare["complexity"].files


def test_a_real_projects_shape_pip(tmp_path: Path, places: tuple[Path, Path]) -> None:
    """pip: ``extend-exclude`` of ``_vendor`` and ``data``, Markdown docs, a src layout, tests."""
    root = write_project(
        tmp_path / "pip",
        {
            "pyproject.toml": (
                "[project]\nname = 'pip'\n\n[tool.ruff]\n"
                'src = ["src"]\nline-length = 88\nextend-exclude = ["_vendor", "./build", ".scratch", "data"]\n'
                '[tool.ruff.lint]\nselect = ["E", "F", "I"]\n'
                '[tool.bandit]\nexclude_dirs = ["tests/data"]\nskips = ["B101"]\n'
            ),
            ".gitignore": "/build/\n.*cache\n*.egg-info/\n",
            "src/pip/__init__.py": '__version__ = "1"\n',
            "src/pip/_internal/cli.py": UNSORTED,
            "src/pip/_internal/utils.py": INSECURE,
            "src/pip/_vendor/__init__.py": "",
            "src/pip/_vendor/vendored.py": UNSORTED + UNFORMATTED + INSECURE,
            "src/pip/_vendor/README.md": "vendored  \n\n```python\nx  =  1\n```\n",
            "tests/data/packages/setup.py": UNSORTED + INSECURE,
            "tests/test_cli.py": "def test_it():\n    assert True\n",
            "docs/html/index.md": "# pip\n\n```python\nimport pip\nx  =  1\n```\n",
            "docs/html/getting-started.md": "# Getting started\n",
            "docs/html/conf.py": "project = 'pip'\n",
            "news/1234.bugfix.md": "Fix a bug.\n",
            "noxfile.py": "import nox\n",
        },
    )
    _git(root)
    bare = assert_same_as_bare(root, *places)
    excluded = {"src/pip/_vendor/vendored.py", "src/pip/_vendor/README.md", "tests/data/packages/setup.py"}
    assert not excluded & (bare["lint"].files | bare["format"].files)
    assert {"docs/html/index.md", "news/1234.bugfix.md"} <= bare["format"].files
    assert "tests/data/packages/setup.py" not in bare["security"].files
    assert "src/pip/_vendor/vendored.py" in bare["security"].files, "bandit knows nothing of ruff's excludes"


def test_a_bandit_ini_replaces_the_default_exclusions(tmp_path: Path, places: tuple[Path, Path]) -> None:
    root = write_project(
        tmp_path / "ini",
        {
            ".bandit": "[bandit]\nexclude = ./scripts,.tox\n",
            "app.py": INSECURE,
            "scripts/deploy.py": INSECURE,
            ".tox/env/x.py": INSECURE,
            "tool.pyw": INSECURE,
        },
    )
    _git(root)
    bare = assert_same_as_bare(root, *places)
    assert "tool.pyw" in bare["security"].files
    assert "scripts/deploy.py" not in bare["security"].files


def test_a_tree_outside_git_matches_too(tmp_path: Path, places: tuple[Path, Path]) -> None:
    root = write_project(
        tmp_path / "plain",
        {
            "pyproject.toml": '[tool.ruff]\nextend-exclude = ["third_party"]\n',
            "app.py": UNSORTED,
            "third_party/lib.py": UNSORTED,
            "notes.md": "#  Title\n",
        },
    )
    bare = assert_same_as_bare(root, *places)
    assert "third_party/lib.py" not in bare["lint"].files and "third_party/lib.py" in bare["security"].files
