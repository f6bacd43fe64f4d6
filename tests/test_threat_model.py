"""The README's threat model names real tests: every ``tests/...py::name`` and every test named in a row exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _threat_model() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("## Threat model")
    return text[start : text.index("\n## ", start + 1)]


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def test_every_test_the_threat_model_names_exists() -> None:
    missing = []
    rows = [line for line in _threat_model().splitlines() if line.startswith("| ") and "tests/" in line]
    assert len(rows) == 4, "one row per kind of attacker"
    for row in rows:
        for match in re.finditer(r"`(tests/[\w/]+\.py)(?:::(\w+))?`(?: \(([^)]*)\))?", row):
            path = REPO / match.group(1)
            assert path.is_file(), match.group(1)
            defined = _tests_in(path)
            wanted = [match.group(2)] if match.group(2) else re.findall(r"`(\w+)`", match.group(3) or "")
            missing.extend(f"{match.group(1)}::{name}" for name in wanted if name not in defined)
    assert missing == []
