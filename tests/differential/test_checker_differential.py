"""The worked checkers, pasted as they are from ``examples/checkers/``, against the bare tools through a history.

A project is built in the test (a package whose modules import each other, a test
directory and an example application in import roots of their own, an import cycle,
duplicated code, YAML files), and a scripted history of 30 steps is replayed on it:
edits to a module that others import (directly and two imports away), added, deleted
and renamed modules, config files (the checkers' witnesses) added and removed, a syntax
error, a checkout back and forward. At every step:

- bare ``pylint --disable=duplicate-code,cyclic-import`` over every Python file, run at
  the root, and bare ``yamllint -f parsable`` over every YAML file report the same
  messages (path, line, message id) as ``memo run --dimension pylint,yamllint``, cached;
- the cached run equals a ``--no-cache`` run, result by result;
- where a step edits one module, exactly that module and the files that import it,
  directly or not, are checked again; every other file is a cache hit.

Whole-run messages: pylint's duplicate-code (R0801) and cyclic-import (R0401) depend on
the whole set of files a run is given, not on one file and its imports, so the worked
pylint checker disables them in its per-file pass (and says so); the first step proves
that bare pylint does report both on this tree and memo reports neither.
"""

from __future__ import annotations

import json
import os
import re
import subprocess  # nosec B404
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.differential._tools_support import run_tool, write_project
from tests.differential.test_history_replay import commit, edit, git

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "checkers"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(
    not (BIN / "pylint").exists() or not (BIN / "yamllint").exists(),
    reason="pylint and yamllint come with the [test] extra",
)

Message = tuple[str, int, str]

CORE = '''\
"""Core."""


def compute(value):
    """Double it."""
    return value * 2


def unused_helper():
    """Nobody calls this."""
    return None
'''

HELPERS = '''\
"""Helpers over core."""
from pkg import core


def twice(value):
    """Use core."""
    return core.compute(core.compute(value))
'''

SERVICE = '''\
"""Two imports away from core."""
from pkg.helpers import twice


def run():
    """Run it."""
    return twice(3)
'''

CYCLE_A = '''\
"""One half of a cycle."""
from pkg import cycle_b


def ping():
    """Ping."""
    return cycle_b.pong
'''

CYCLE_B = '''\
"""The other half."""
from pkg import cycle_a


def pong():
    """Pong."""
    return cycle_a.ping
'''

DUPLICATED = '''\
"""Duplicated code."""


def summary(items):
    """Sum up."""
    total = 0
    count = 0
    for item in items:
        total += item.value
        count += item.weight
        if total > 100:
            break
    return total, count
'''

TEST_SERVICE = '''\
"""Tests in their own import root."""
from pkg import service


def test_run():
    """It runs."""
    assert service.run() == 12
    assert service.missing_name
'''

DEMO_APP = '''\
"""An example application in its own import root."""


def create():
    """Create it."""
    return {"app": True}
'''

DEMO_TEST = '''\
"""Imports the example app from another import root: found only with every root on sys.path."""
import demo_app


def test_create():
    """It creates."""
    assert demo_app.create()
    assert demo_app.absent
'''

INITIAL = {
    "pkg/__init__.py": '"""The package."""\n',
    "pkg/core.py": CORE,
    "pkg/helpers.py": HELPERS,
    "pkg/service.py": SERVICE,
    "pkg/cycle_a.py": CYCLE_A,
    "pkg/cycle_b.py": CYCLE_B,
    "pkg/dup_one.py": DUPLICATED,
    "pkg/dup_two.py": DUPLICATED.replace("Duplicated code.", "Duplicated code, again."),
    "tests/test_service.py": TEST_SERVICE,
    "examples/demo/demo_app/__init__.py": DEMO_APP,
    "examples/demo/tests/test_demo.py": DEMO_TEST,
    "config/app.yaml": "---\nname: demo\nitems: [1, 2]\n",
    "config/other.yml": "---\nkey:   value\n",
    ".github/workflow.yaml": "---\non: push\njobs:\n  test:\n    runs-on: x\n",
}


def pyproject() -> str:
    """The two example tables, pasted as they are (comments and all) under a [project] table."""
    tables = [(EXAMPLES / name).read_text(encoding="utf-8") for name in ("pylint.toml", "yamllint.toml")]
    return '[project]\nname = "demo"\nversion = "0"\n\n' + "\n".join(tables)


def listed(root: Path, *patterns: str) -> list[str]:
    completed = subprocess.run(  # nosec B603 B607
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *patterns],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(name for name in completed.stdout.splitlines() if (root / name).is_file())


def bare_pylint(root: Path, *extra: str) -> set[Message]:
    files = listed(root, "*.py")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    completed = run_tool([str(BIN / "pylint"), "--output-format=json2", *extra, "--", *files], root, env)
    assert completed.returncode < 32, completed.stderr.decode()[-2000:]
    return {(m["path"], int(m["line"]), m["messageId"]) for m in json.loads(completed.stdout)["messages"]}


def bare_yamllint(root: Path) -> set[Message]:
    files = listed(root, "*.yaml", "*.yml", ".yamllint")
    completed = run_tool([str(BIN / "yamllint"), "-f", "parsable", "--", *files], root)
    assert completed.returncode in (0, 1), completed.stderr.decode()[-2000:]
    found = set()
    for line in completed.stdout.decode().splitlines():
        match = re.match(r"^(.+?):(\d+):\d+: \[\w+\] .* \(([\w-]+)\)$", line)
        assert match is not None, line
        found.add((match[1], int(match[2]), match[3]))
    return found


@dataclass(frozen=True)
class Step:
    name: str
    act: Callable[[Path], None]
    rechecked: frozenset[str] | None = None
    """Where a step edits a module: exactly the Python files pylint must check again."""


def _initial(root: Path) -> None:
    write_project(root, {**INITIAL, "pyproject.toml": pyproject()})
    git(root, "init", "-q", "-b", "main")
    commit(root, "first")
    git(root, "tag", "first")


def _write(name: str, text: str) -> Callable[[Path], None]:
    return lambda root: write_project(root, {name: text})


def _remove(name: str) -> Callable[[Path], None]:
    return lambda root: (root / name).unlink()


IMPORTERS_OF_CORE = frozenset({"pkg/core.py", "pkg/helpers.py", "pkg/service.py", "tests/test_service.py"})

STEPS = [
    Step("initial tree", _initial),
    Step("nothing changed", lambda root: None),
    Step(
        "rename a function others call (two imports away from the service)",
        lambda root: edit(root / "pkg/core.py", "def compute(", "def calculate("),
        IMPORTERS_OF_CORE,
    ),
    Step(
        "put it back: every entry of the first step serves again",
        lambda root: edit(root / "pkg/core.py", "def calculate(", "def compute("),
        frozenset(),
    ),
    Step(
        "edit a module nobody imports",
        lambda root: edit(root / "pkg/dup_two.py", "total = 0", "total = 1"),
        frozenset({"pkg/dup_two.py"}),
    ),
    Step(
        "edit the example app, imported from another root",
        lambda root: edit(root / "examples/demo/demo_app/__init__.py", "def create():", "def make():"),
        frozenset({"examples/demo/demo_app/__init__.py", "examples/demo/tests/test_demo.py"}),
    ),
    Step("commit", lambda root: commit(root, "second")),
    Step(
        "add a module that imports core",
        _write("pkg/extra.py", '"""Extra."""\nfrom pkg.core import compute\n\nX = compute(1)\n'),
    ),
    Step(
        "helpers imports the new module",
        lambda root: edit(root / "pkg/helpers.py", "from pkg import core\n", "from pkg import core, extra\n"),
        frozenset({"pkg/helpers.py", "pkg/service.py", "tests/test_service.py"}),
    ),
    Step(
        "rename the new module", lambda root: (git(root, "add", "-A"), git(root, "mv", "pkg/extra.py", "pkg/extras.py"))
    ),
    Step("delete a module others import", _remove("pkg/cycle_b.py")),
    Step("bring it back", _write("pkg/cycle_b.py", CYCLE_B)),
    Step(
        "add a .pylintrc (a witness)",
        _write(".pylintrc", "[MESSAGES CONTROL]\ndisable=missing-function-docstring,no-member\n"),
    ),
    Step("edit the .pylintrc", lambda root: edit(root / ".pylintrc", ",no-member", "")),
    Step("remove the .pylintrc", _remove(".pylintrc")),
    Step("a YAML edit", lambda root: edit(root / "config/app.yaml", "items: [1, 2]", "items: [1,2]  ")),
    Step("a YAML syntax error", _write("config/broken.yaml", "---\nkey: [1, 2\n")),
    Step(
        "add a .yamllint (a witness)", _write(".yamllint", "---\nextends: default\nrules:\n  document-start: disable\n")
    ),
    Step("remove the .yamllint", _remove(".yamllint")),
    Step("a Python syntax error", _write("pkg/broken.py", "def broken(:\n    pass\n")),
    Step("fix it", _write("pkg/broken.py", '"""Fixed."""\n')),
    Step("commit again", lambda root: commit(root, "third")),
    Step("checkout back to the first commit", lambda root: git(root, "checkout", "-q", "first")),
    Step("checkout forward again", lambda root: git(root, "checkout", "-q", "main")),
    Step("tests become a package", _write("tests/__init__.py", '"""Tests."""\n')),
    Step("a module shadows the example app's name at the root", _write("demo_app.py", '"""Shadow."""\nabsent = 1\n')),
    Step("remove the shadow", _remove("demo_app.py")),
    Step(
        "a same-size edit of core",
        lambda root: edit(root / "pkg/core.py", "return value * 2", "return value * 3"),
        IMPORTERS_OF_CORE | {"pkg/extras.py"},  # added (and renamed) since, importing core
    ),
    Step(
        "edit pyproject (a pylint witness)",
        lambda root: edit(root / "pyproject.toml", 'version = "0"', 'version = "1"'),
    ),
    Step("last commit", lambda root: commit(root, "fourth")),
]


def run_both(root: Path, cache: Path, *, no_cache: bool = False) -> tuple[tuple[object, ...], set[str], list[str]]:
    """``memo run --dimension pylint,yamllint --format json``: its results (timings and ``cached``
    aside), the Python files pylint checked again (misses), and its errors."""
    argv = [sys.executable, "-m", "memo", "run", str(root), "--format", "json", "--cache-dir", str(cache)]
    argv += ["--dimension", "pylint,yamllint", *(["--no-cache"] if no_cache else [])]
    env = {key: value for key, value in os.environ.items() if not key.startswith("VALIDATION_CACHE")}
    env["VALIDATION_CACHE_TRUST_PROJECT"] = "1"  # the checkout declares the checkers: trusted, as its owner runs it
    completed = subprocess.run(argv, cwd=root, capture_output=True, timeout=600, check=False, env=env)  # nosec B603
    try:
        report = json.loads(completed.stdout)
    except ValueError:
        raise AssertionError(f"no JSON report: {completed.stderr.decode()[-2000:]}") from None
    results, misses, errors = [], set(), []
    for result in report["results"]:
        file = os.path.relpath(result["file_path"], root)
        findings = tuple(sorted((os.path.relpath(f["path"], root), f["line"], f["code"]) for f in result["findings"]))
        results.append((result["dimension"], file, result["passed"], result["error"], findings))
        if result["dimension"] == "pylint" and not result["cached"]:
            misses.add(file)
        if result["error"]:
            errors.append(f"{result['dimension']} {file}: {result['error']}")
    return tuple(sorted(results)), misses, errors  # type: ignore[arg-type]


@pytest.mark.timeout(1800)
def test_worked_checkers_equal_the_bare_tools_through_a_history(tmp_path: Path) -> None:
    """30 steps; at each, cached == --no-cache == the bare tools; an edit re-checks exactly its importers."""
    assert len(STEPS) == 30
    root, cache = tmp_path / "project", tmp_path / "cache"
    root.mkdir()
    for number, step in enumerate(STEPS):
        step.act(root)
        where = f"step {number} ({step.name})"
        cached, misses, errors = run_both(root, cache)
        assert not errors, (where, errors)
        if step.rechecked is not None:
            assert misses == step.rechecked, (where, sorted(misses))
        uncached, _, _ = run_both(root, cache, no_cache=True)
        assert cached == uncached, where
        found: dict[str, set[Message]] = {"pylint": set(), "yamllint": set()}
        for dimension, _, _, _, findings in cached:  # type: ignore[misc]
            found[dimension] |= set(findings)
        bare = bare_pylint(root, "--disable=duplicate-code,cyclic-import")
        assert found["pylint"] == bare, (where, sorted(found["pylint"] ^ bare))
        assert found["yamllint"] == bare_yamllint(root), where
        if number == 0:
            whole_run = {code for _, _, code in bare_pylint(root)}
            assert {"R0801", "R0401"} <= whole_run  # bare pylint, every message on: both whole-run messages
            assert not {code for _, _, code in found["pylint"]} & {"R0801", "R0401"}
