"""memo's lint and format report what bare ruff reports at the project root, cached or not.

Each test builds a small project exercising one way ruff reads its surroundings, runs
``python -m memo run`` (cached, warm, ``--no-cache``, from another directory) and bare
``ruff check .``/``ruff format --check .`` at the root, and compares the findings.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.differential._ruff_support import assert_memo_agrees, memo, snapshot_tree, write

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

UNSORTED = "import sys\nimport os\n\nprint(os, sys)\n"
LONG = "value = some_function_name(first_argument_value, second_argument_value, third_argument_value_x)\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (tmp_path / "elsewhere").mkdir()
    return root


def agree(root: Path) -> tuple[int, int]:
    run = assert_memo_agrees(root, root.parent / "cache", root.parent / "elsewhere")
    return run.hits, run.misses


def test_a_project_asking_for_fixes_is_never_modified(project: Path) -> None:
    write(
        project,
        {
            "ruff.toml": (
                "fix = true\nunsafe-fixes = true\nshow-fixes = true\nline-length = 60\n"
                '[lint]\nselect = ["F401", "I", "UP"]\n[format]\nquote-style = "single"\n'
            ),
            "a.py": 'import sys\nimport os\nfrom typing import List\nx: List[int] = ["a"]\n',
            "b.py": LONG,
            "sub/pyproject.toml": '[tool.ruff]\nfix = true\nfix-only = true\n[tool.ruff.lint]\nselect = ["F"]\n',
            "sub/c.py": "import json\n",
        },
    )
    before = snapshot_tree(project)
    memo(project, project.parent / "cache", dimensions=())  # every dimension
    memo(project, project.parent / "cache", dimensions=(), cwd=project.parent / "elsewhere")
    assert snapshot_tree(project) == before
    agree(project)
    assert snapshot_tree(project) == before


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("ruff.toml", 'fix-only = true\nfix = true\n[lint]\nselect = ["F401", "I"]\n'),
        ("pyproject.toml", '[tool.ruff]\nfix-only = true\n[tool.ruff.lint]\nselect = ["F401", "I"]\n'),
    ],
    ids=["ruff.toml", "pyproject.toml"],
)
def test_fix_only_in_the_root_config_never_modifies_a_file(project: Path, name: str, config: str) -> None:
    # At the root ruff reads fix-only, and `--no-fix` alone does not override it: only
    # `--no-fix-only` keeps ruff from rewriting a.py (a nested config would not be read).
    write(project, {name: config, "a.py": "import sys\nimport os\nimport json\n\nprint(os, sys)\n"})
    before = snapshot_tree(project)
    memo(project, project.parent / "cache", dimensions=("lint",), no_cache=True)
    assert snapshot_tree(project) == before
    agree(project)
    assert snapshot_tree(project) == before
    found = memo(project, project.parent / "cache", dimensions=("lint",))
    assert {finding[3] for finding in found.findings["lint"]} == {"F401", "I001"}


def test_exclude_and_extend_exclude_apply_to_the_files_memo_passes(project: Path) -> None:
    write(
        project,
        {
            "pyproject.toml": '[tool.ruff]\nextend-exclude = ["docs", "gen_*.py"]\n',
            "a.py": UNSORTED + "import json\n",
            "docs/conf.py": "import os\n",
            "gen_table.py": "import os\n" + LONG,
        },
    )
    agree(project)
    found = memo(project, project.parent / "cache")
    assert not any(f[0].startswith(("docs", "gen_")) for dim in found.findings.values() for f in dim)


def test_nested_configs_apply_to_their_own_subtrees(project: Path) -> None:
    write(
        project,
        {
            "ruff.toml": 'line-length = 120\n[lint]\nselect = ["E501"]\n',
            "a.py": LONG,
            "examples/app/pyproject.toml": '[tool.ruff]\nline-length = 60\n[tool.ruff.lint]\nselect = ["E501", "F"]\n',
            "examples/app/b.py": LONG + "import os\n",
        },
    )
    agree(project)
    found = memo(project, project.parent / "cache")
    assert {f[0] for f in found.findings["lint"]} == {os.path.join("examples", "app", "b.py")}


def test_without_a_ruff_config_requires_python_sets_the_target(project: Path) -> None:
    write(
        project,
        {
            "pyproject.toml": '[project]\nname = "p"\nrequires-python = ">=3.8"\n',
            "a.py": "type Alias = int\n",
        },
    )
    agree(project)
    assert any(f[3] == "invalid-syntax" for f in memo(project, project.parent / "cache").findings["lint"])
    write(project, {"pyproject.toml": '[project]\nname = "p"\nrequires-python = ">=3.12"\n'})
    agree(project)


def test_src_and_per_file_ignores_resolve_against_the_root(project: Path) -> None:
    write(
        project,
        {
            "pyproject.toml": (
                '[tool.ruff]\nsrc = ["lib"]\n[tool.ruff.lint]\nselect = ["F401", "I"]\n'
                '[tool.ruff.lint.per-file-ignores]\n"tests/*" = ["F401"]\n'
            ),
            "lib/mylib/__init__.py": "",
            "app.py": "import os\n\nimport requests\nimport mylib\n\nprint(os, requests, mylib)\n",
            "tests/test_x.py": "import os\n",
        },
    )
    agree(project)


def test_editing_only_the_end_of_an_extend_chain_is_a_miss(project: Path) -> None:
    write(
        project,
        {
            "ruff.toml": 'extend = "configs/middle.toml"\n',
            "configs/middle.toml": 'extend = "../../shared/base.toml"\n',
            "../shared/base.toml": 'line-length = 120\n[lint]\nselect = ["E501"]\n',
            "a.py": LONG,
        },
    )
    agree(project)
    write(project, {"../shared/base.toml": 'line-length = 60\n[lint]\nselect = ["E501"]\n'})
    hits, misses = agree(project)
    # a.py's lint and format, and ruff.toml's lint (`ruff check --show-files` lists it)
    assert misses == 3 and hits == 0


def test_adding_an_init_file_reaches_the_unchanged_module(project: Path) -> None:
    write(project, {"ruff.toml": '[lint]\nselect = ["INP001"]\n', "pkg/a.py": "x = 1\n"})
    agree(project)
    write(project, {"pkg/__init__.py": ""})
    agree(project)
    assert not memo(project, project.parent / "cache").findings["lint"]


def test_a_new_first_party_module_flips_isort_on_an_untouched_file(project: Path) -> None:
    write(
        project,
        {
            "ruff.toml": '[lint]\nselect = ["I"]\n',
            "a.py": "import attr\nimport zzz_probe\n\nprint(attr, zzz_probe)\n",
            "b.py": "import json\n\nprint(json)\n",
        },
    )
    agree(project)
    assert not memo(project, project.parent / "cache").findings["lint"]
    write(project, {"zzz_probe.py": "x = 1\n"})
    hits, _ = agree(project)
    assert [f[3] for f in memo(project, project.parent / "cache").findings["lint"]] == ["I001"]
    # a.py's format, b.py (which does not import zzz_probe) and ruff.toml's lint stay cached
    assert hits == 4


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True, capture_output=True
    )


def test_a_scripted_history_agrees_at_every_step(project: Path) -> None:
    write(
        project,
        {
            "pyproject.toml": '[project]\nname = "p"\nrequires-python = ">=3.9"\n[tool.ruff]\nextend = "base.toml"\n',
            "base.toml": 'line-length = 100\n[lint]\nselect = ["E", "F", "I", "INP"]\n',
            "pkg/__init__.py": "",
            "pkg/a.py": "import os\nimport pkg.b\n\nprint(os, pkg.b)\n",
            "pkg/b.py": LONG,
            "tools/run.py": "import sys\nprint(sys)\n",
        },
    )
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "start")
    agree(project)
    steps = [
        lambda: write(project, {"pkg/a.py": "import pkg.b\nimport os\n\nprint(os, pkg.b)\n"}),  # edit
        lambda: write(project, {"pkg/c.py": "import zzz\n"}),  # addition
        lambda: os.rename(project / "pkg/c.py", project / "pkg/d.py"),  # rename
        lambda: write(project, {"base.toml": 'line-length = 60\n[lint]\nselect = ["E", "F", "I", "INP"]\n'}),
        lambda: write(project, {"tools/__init__.py": ""}),
        lambda: os.utime(project / "pkg/b.py"),  # touch
        lambda: _same_size_edit_with_mtime_restored(project / "base.toml"),
        lambda: write(project, {"pyproject.toml": '[project]\nname = "p"\nrequires-python = ">=3.12"\n'}),
        lambda: _git(project, "checkout", "-q", "--", "."),  # back to the commit (untracked files stay)
    ]
    for step in steps:
        step()
        agree(project)


def _same_size_edit_with_mtime_restored(path: Path) -> None:
    info = path.stat()
    text = path.read_text(encoding="utf-8")
    swapped = text.replace("line-length = 60", "line-length = 88")
    assert len(swapped) == len(text) and swapped != text
    path.write_text(swapped, encoding="utf-8")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # as `cp -p` or `touch -r` leave it
