"""Dependencies point one way: memo <- validators <- memo_engine <- memo_cli <- orchestrator.py.

The test reads every shipped module's imports (``import x``, ``from x import y``,
including imports inside functions and under ``TYPE_CHECKING``) and fails on any edge
that points up, and on any top-level module besides ``orchestrator.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

LAYERS = {"memo": 0, "validators": 1, "memo_engine": 2, "memo_cli": 3, "orchestrator": 4}
"""Each layer may import its own and lower layers only."""

LAUNCHERS = {"memo/__main__.py imports memo_cli"}
"""``python -m memo`` starts the command; it is a program, and no module imports it."""


def _shipped() -> list[Path]:
    files = [REPO / "orchestrator.py"]
    for package in ("memo", "validators", "memo_engine", "memo_cli"):
        files.extend(sorted((REPO / package).rglob("*.py")))
    return files


def _layer_of(path: Path) -> str:
    relative = path.relative_to(REPO)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
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


def test_nothing_imports_the_launcher() -> None:
    for path in _shipped():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "memo.__main__":
                raise AssertionError(f"{path} imports memo.__main__")


def test_the_walk_sees_an_import_inside_a_function() -> None:
    tree = ast.parse("def f():\n    from memo_engine import Engine\n")
    assert "memo_engine" in _imported(tree)


def test_orchestrator_py_is_the_only_top_level_module() -> None:
    shipped = {path.name for path in REPO.glob("*.py")}
    assert shipped == {"orchestrator.py"}
