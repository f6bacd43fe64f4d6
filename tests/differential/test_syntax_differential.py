"""memo's syntax findings equal what this interpreter's own compiler says, file by file.

The bare tool is ``python -W always -m py_compile FILE`` (bytecode written to a scratch
prefix, never into the project): it exits 1 with the error's line for a file that does not
compile, and prints ``FILE:LINE: SyntaxWarning: ...`` for each compiler warning.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from tests.differential._tools_support import MemoRun, run_tool, standard_runs, write_project

PROJECTS: dict[str, dict[str, str | bytes]] = {
    "mixed": {
        "ok.py": "def f(x):\n    return x\n",
        "pkg/__init__.py": "",
        "pkg/missing_paren.py": "def f(:\n    pass\n",
        "pkg/return_outside.py": "x = 1\nreturn x\n",
        "pkg/nonlocal_module.py": "nonlocal x\n",
        "indent.py": "def f():\nreturn 1\n",
        "tabs.py": "if True:\n\tx = 1\n        y = 2\n",
        "escape.py": 'import re\n\nPATTERN = "\\d+"\n',
        "is_literal.py": "def f(x):\n    return x is 1\n",
        "stub.pyi": "def f(x: int) -> int: ...\n",
        "latin.py": b"# -*- coding: ascii -*-\nname = '\xe9'\n",
        "new_syntax.py": "type Alias = int\n",
    },
}

_LINE = re.compile(r'File "[^"]*", line (\d+)|^Sorry: .*, line (\d+)\)$', re.MULTILINE)
"""py_compile's two ways of naming the line: a traceback-style ``File "x", line N`` (most
errors) or ``Sorry: IndentationError: ... (x, line N)`` (indentation and tab errors)."""
_WARNING = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?:SyntaxWarning|DeprecationWarning): ", re.MULTILINE)


def bare_compile(root: Path, name: str, scratch: Path) -> tuple[int | None, frozenset[int]]:
    """(line of the compile error or None, lines of compiler warnings) for one file."""
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(scratch)}
    completed = run_tool([sys.executable, "-W", "always", "-m", "py_compile", name], root, env=env)
    stderr = completed.stderr.decode("utf-8", "replace")
    if completed.returncode != 0:
        found = _LINE.search(stderr)
        assert found is not None, stderr
        # The compiler says line 0 when it has no line (a decoding error); findings are 1-based.
        return max(int(found.group(1) or found.group(2)), 1), frozenset()
    return None, frozenset(int(match["line"]) for match in _WARNING.finditer(stderr))


def assert_run_reports_what_the_compiler_reports(
    how: str, run: MemoRun, expected: dict[str, tuple[int | None, frozenset[int]]]
) -> None:
    """``run`` has no errors, and for each file the compiler's error line and warning lines."""
    assert not run.errors, (how, run.errors)
    for file, (error_line, warning_lines) in expected.items():
        errors = {f[1] for f in run.findings if f[0] == file and f[3] != "syntax-warning"}
        warnings = {f[1] for f in run.findings if f[0] == file and f[3] == "syntax-warning"}
        assert errors == (set() if error_line is None else {error_line}), (how, file)
        assert warnings == warning_lines, (how, file)


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_memo_reports_what_the_compiler_reports(name: str, tmp_path: Path) -> None:
    root = write_project(tmp_path / "project", PROJECTS[name])
    cache = tmp_path / "cache"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    runs = standard_runs(root, "syntax", cache, elsewhere)
    assert runs["warm"].cache_hits > 0
    files = sorted(runs["cold"].files)
    assert set(files) == set(PROJECTS[name]), "memo must check every .py and .pyi file"
    expected = {file: bare_compile(root, file, tmp_path / "pycache") for file in files}
    assert any(error is not None for error, _ in expected.values())
    assert any(warnings for _, warnings in expected.values())
    for how, run in runs.items():
        assert_run_reports_what_the_compiler_reports(how, run, expected)
    assert not list(root.rglob("__pycache__")), "neither memo nor the bare compile may write into the project"
