"""Dependencies point one way: memo <- memo.validators <- memo.engine <- memo.cli <- orchestrator.py.

The test reads every shipped module's imports (``import x``, ``from x import y``,
including imports inside functions and under ``TYPE_CHECKING``) and fails on any edge
that points up, on any import of a name memo does not install (``validators``,
``memo_engine``, ``memo_cli``), and on any top-level module besides ``orchestrator.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

LAYERS = {"memo": 0, "memo.validators": 1, "memo.engine": 2, "memo.cli": 3, "orchestrator": 4}
"""Each layer may import its own and lower layers only."""

DIRECTORIES = {"memo": "memo", "validators": "memo.validators", "memo_engine": "memo.engine", "memo_cli": "memo.cli"}
"""The repository's directories and the names they install as (memo/validators, ... are links)."""

NOT_INSTALLED = {"validators", "memo_engine", "memo_cli"}
"""Directory names of the checkout that no installed module may import: the wheel has only ``memo``."""

LAUNCHERS = {"memo/__main__.py imports memo.cli"}
"""``python -m memo`` starts the command; it is a program, and no module imports it."""


def _shipped() -> list[Path]:
    files = [REPO / "orchestrator.py"]
    for directory in DIRECTORIES:
        files.extend(sorted((REPO / directory).rglob("*.py")))
    return files


def _layer_of(path: Path) -> str:
    relative = path.relative_to(REPO)
    return DIRECTORIES[relative.parts[0]] if len(relative.parts) > 1 else relative.stem


def _layer_named(module: str) -> str:
    """``memo.engine.config`` -> ``memo.engine``; ``memo.keys`` -> ``memo``; ``os.path`` -> ``os``."""
    parts = module.split(".")
    if parts[0] == "memo" and len(parts) > 1 and f"memo.{parts[1]}" in LAYERS:
        return f"memo.{parts[1]}"
    return parts[0]


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(_layer_named(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(_layer_named(f"{node.module}.{alias.name}") for alias in node.names)
    return names


def upward_edges() -> list[str]:
    edges = []
    for path in _shipped():
        layer = _layer_of(path)
        for name in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            edge = f"{path.relative_to(REPO)} imports {name}"
            if name in LAYERS and LAYERS[name] > LAYERS[layer] and edge not in LAUNCHERS:
                edges.append(edge)
    return edges


def test_no_import_points_up_a_layer() -> None:
    assert upward_edges() == []


def test_nothing_imports_a_name_memo_does_not_install() -> None:
    stray = []
    ours = [*sorted((REPO / "tests").rglob("*.py")), *sorted((REPO / "benchmarks").rglob("*.py"))]
    for path in [*_shipped(), *(path for path in ours if "fixtures" not in path.parts)]:
        for name in _imported(ast.parse(path.read_text(encoding="utf-8"))) & NOT_INSTALLED:
            stray.append(f"{path.relative_to(REPO)} imports {name}")
    assert stray == []


def test_the_walk_places_a_from_import_of_a_subpackage_in_its_layer() -> None:
    assert _imported(ast.parse("from memo import validators\nfrom memo.cli import run_main\n")) == {
        "memo.validators",
        "memo.cli",
    }


def test_nothing_imports_the_launcher() -> None:
    for path in _shipped():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "memo.__main__":
                raise AssertionError(f"{path} imports memo.__main__")


def test_the_walk_sees_an_import_inside_a_function() -> None:
    tree = ast.parse("def f():\n    from memo.engine import Engine\n")
    assert "memo.engine" in _imported(tree)


def test_orchestrator_py_is_the_only_top_level_module() -> None:
    shipped = {path.name for path in REPO.glob("*.py")}
    assert shipped == {"orchestrator.py"}
