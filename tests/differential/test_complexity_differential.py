"""memo's complexity findings equal radon's, run at the project root.

The bare command is ``radon cc --show-closures -j .``: every function, method and closure
radon measures. memo reports those above ``max_complexity`` (default 10, radon's rank C
and worse: ``radon cc -n C``); classes are radon's average of their methods, not a
function, and memo leaves them out. A file radon cannot parse is an ``unparsable`` finding.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.differential._tools_support import Finding, restricted, run_tool, standard_runs, write_project


def branches(count: int, indent: str) -> str:
    return "".join(f"{indent}if x == {i}:\n{indent}    y += {i}\n" for i in range(count))


FUNCTIONS = f"""\
def simple(x):
    return x


def eleven(x):
    y = 0
{branches(10, "    ")}    return y


def ten(x):
    y = 0
{branches(9, "    ")}    return y


def outer(x):
    def inner(x):
        y = 0
{branches(12, "        ")}        return y

    return inner(x)


class Widget:
    def method(self, x):
        y = 0
{branches(14, "        ")}        return y

    async def coroutine(self, x):
        y = 0
        for item in x:
{branches(11, "            ")}        return y
"""

PROJECTS: dict[str, dict[str, str]] = {
    "default-limit": {
        "pkg/__init__.py": "",
        "pkg/functions.py": FUNCTIONS,
        "broken.py": "def f(:\n",
        "lambdas.py": "handler = lambda x: x if x else (x or 1)\n",
        "new_syntax.py": "def first[T](items: list[T]) -> T:\n    return items[0]\n",
    },
    "custom-limit": {
        "pyproject.toml": "[tool.memo.complexity]\nmax_complexity = 5\n",
        "pkg/functions.py": FUNCTIONS,
    },
}


def blocks(entries: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every function, method and closure radon lists (a class's methods are listed on their own too)."""
    for entry in entries:
        if entry.get("type") == "class":
            continue
        yield entry
        yield from blocks(entry.get("closures") or [])


def bare_radon(root: Path, limit: int) -> tuple[frozenset[Finding], frozenset[str]]:
    completed = run_tool([sys.executable, "-m", "radon", "cc", "--show-closures", "-j", "."], root)
    assert completed.returncode == 0, completed.stderr.decode()
    report: dict[str, Any] = json.loads(completed.stdout)
    findings = set()
    unparsable = set()
    for name, entries in report.items():
        path = str(Path(name))
        if isinstance(entries, dict) and "error" in entries:
            unparsable.add(path)
            continue
        for block in blocks(entries):
            if block["complexity"] > limit:
                findings.add((path, block["lineno"], block["col_offset"] + 1, "too-complex"))
    return frozenset(findings), frozenset(unparsable)


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_memo_reports_what_radon_measures_at_the_root(name: str, tmp_path: Path) -> None:
    root = write_project(tmp_path / "project", PROJECTS[name])
    limit = 5 if name == "custom-limit" else 10
    expected, unparsable = bare_radon(root, limit)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cache = tmp_path / "cache"
    runs = standard_runs(root, "complexity", cache, elsewhere)
    assert runs["warm"].cache_hits > 0
    assert expected, "the project must have something over the limit"
    for how, run in runs.items():
        assert not run.errors, (how, run.errors)
        measured = frozenset(f for f in run.findings if f[3] != "unparsable")
        assert measured == restricted(expected, run.files), how
        assert {f[0] for f in run.findings if f[3] == "unparsable"} == {p for p in unparsable if p in run.files}, how
