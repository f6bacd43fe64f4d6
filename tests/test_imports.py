"""memo.imports: a file's import-closure digest changes exactly when something it imports, directly or not, does."""

from __future__ import annotations

import os
from pathlib import Path

from memo.imports import ImportGraph, import_roots, package_base, requested_names
from tests.differential._tools_support import write_project


def _tree(root: Path) -> Path:
    return write_project(
        root,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "from . import c\n",
            "pkg/c.py": "VALUE = 1\n",
            "pkg/d.py": "import os\n",
            "tests/test_a.py": "import pkg.a\n",
        },
    )


def _digest(root: Path, name: str) -> str:
    """A digest as a new run sees it (a graph per run)."""
    files = [str(path) for path in sorted(root.rglob("*.py"))]
    return ImportGraph(import_roots(files), str(root)).digest(str(root / name))


def _edit(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)


def test_an_edit_two_imports_away_invalidates_the_importer(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    before = {name: _digest(root, name) for name in ("pkg/a.py", "tests/test_a.py", "pkg/b.py")}
    _edit(root / "pkg/c.py", "OTHER = 2\n")
    after = {name: _digest(root, name) for name in before}
    assert all(before[name] != after[name] for name in before)


def test_an_unrelated_edit_invalidates_nothing(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    before = {name: _digest(root, name) for name in ("pkg/a.py", "tests/test_a.py", "pkg/c.py")}
    _edit(root / "pkg/d.py", "import sys\n")
    assert {name: _digest(root, name) for name in before} == before


def test_the_closure_holds_the_transitive_first_party_modules_only(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    files = [str(path) for path in sorted(root.rglob("*.py"))]
    graph = ImportGraph(import_roots(files), str(root))
    closure = {os.path.relpath(path, root) for path in graph.closure(str(root / "tests/test_a.py"))}
    assert closure == {"tests/test_a.py", "pkg/__init__.py", "pkg/a.py", "pkg/b.py", "pkg/c.py"}


def test_a_new_module_that_a_file_asks_for_invalidates_it(tmp_path: Path) -> None:
    """``import os`` resolves to nothing first-party; an ``os.py`` at an import root shadows it."""
    root = _tree(tmp_path)
    before = _digest(root, "pkg/d.py")
    write_project(root, {"os.py": "X = 1\n"})
    assert _digest(root, "pkg/d.py") != before


def test_import_roots_are_package_bases_in_order(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    write_project(root, {"src/lib/__init__.py": "", "src/lib/m.py": ""})
    files = [str(root / name) for name in ("pkg/a.py", "src/lib/m.py", "tests/test_a.py", "pkg/b.py")]
    assert import_roots(files) == [str(root), str(root / "src"), str(root / "tests")]
    assert package_base(str(root / "src/lib/m.py")) == str(root / "src")


def test_requested_names_resolve_relative_and_from_imports() -> None:
    source = b"from . import c\nfrom ..x import y as z\nimport a.b\ndef f():\n    from q import *\n"
    assert requested_names(source, "pkg.sub.m", False) == (
        "pkg",
        "pkg.sub",
        "pkg.sub.c",
        "pkg.x",
        "pkg.x.y",
        "a",
        "a.b",
        "q",
    )


def test_a_relative_import_outside_any_package_asks_for_the_sibling(tmp_path: Path) -> None:
    """pylint (astroid) resolves ``from . import helpers`` in a test directory without ``__init__.py``
    to the sibling module: editing it must invalidate the test."""
    assert requested_names(b"from . import helpers\nfrom .util import x\n", "test_a", False) == (
        "helpers",
        "util",
        "util.x",
    )
    root = write_project(tmp_path, {"tests/test_a.py": "from . import helpers\n", "tests/helpers.py": "A = 1\n"})
    before = _digest(root, "tests/test_a.py")
    _edit(root / "tests/helpers.py", "B = 2\n")
    assert _digest(root, "tests/test_a.py") != before


def test_digests_do_not_depend_on_where_the_checkout_is(tmp_path: Path) -> None:
    one, two = _tree(tmp_path / "one"), _tree(tmp_path / "two")
    assert _digest(one, "tests/test_a.py") == _digest(two, "tests/test_a.py")
