"""memo's security findings equal bare bandit's, run the usual way at the project root.

"The usual way": ``bandit -r .`` at the root, which reads a ``.bandit`` file there on its
own, plus ``-c pyproject.toml`` when the project keeps its bandit settings in
``[tool.bandit]`` (bandit reads that table only when told to, and its documentation says
to run it so). memo is run cold, warm (same cache), with ``--no-cache`` and from another
working directory; every run must report exactly bandit's findings for the files memo
validates.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.differential._tools_support import Finding, restricted, run_memo, run_tool, standard_runs, write_project

INSECURE = """\
import pickle
import subprocess


def load(blob, command):
    assert blob, "empty"
    subprocess.call(command, shell=True)
    password = "hunter2"
    try:
        return pickle.loads(blob), password
    except Exception:
        pass
    return eval(command)
"""

TEST_FILE = """\
def test_it():
    assert 1 + 1 == 2
    assert eval("2") == 2
"""

NOSEC = """\
import subprocess


def run(command):
    subprocess.call(command, shell=True)  # nosec B602
    return eval(command)  # nosec
"""

PROJECTS: dict[str, dict[str, str]] = {
    "no-config": {
        "pkg/__init__.py": "",
        "pkg/core.py": INSECURE,
        "tests/test_core.py": TEST_FILE,
        "broken.py": "def f(:\n    pass\n",
        "nosec.py": NOSEC,
        ".github/scripts/release.py": INSECURE,  # bandit's default exclusions match ".git" as a substring
    },
    "pyproject-skips-and-exclude-dirs": {
        "pyproject.toml": (
            '[project]\nname = "p"\n\n[tool.bandit]\nskips = ["B101", "B105"]\nexclude_dirs = ["tests"]\n'
        ),
        "pkg/core.py": INSECURE,
        "tests/test_core.py": TEST_FILE,
        "tests_helpers.py": INSECURE,  # "tests" is also a substring of this path: bandit excludes it too
    },
    "dot-bandit-ini": {
        ".bandit": "[bandit]\nskips = B101,B602\nexclude = ./vendor\n",
        "pkg/core.py": INSECURE,
        "vendor/lib.py": INSECURE,
        "nosec.py": NOSEC,
    },
    "dot-bandit-names-a-yaml-config": {
        ".bandit": "[bandit]\nconfigfile = bandit.yaml\n",
        "bandit.yaml": "skips: ['B403', 'B301']\nexclude_dirs: ['scripts']\n",
        "pyproject.toml": '[tool.bandit]\nskips = ["B307"]\n',
        "pkg/core.py": INSECURE,
        "scripts/deploy.py": INSECURE,
    },
    "tests-only-selection": {
        "pyproject.toml": '[tool.bandit]\ntests = ["B101", "B307"]\n',
        "pkg/core.py": INSECURE,
        "tests/test_core.py": TEST_FILE,
    },
}


def bare_bandit(root: Path) -> tuple[frozenset[Finding], frozenset[str]]:
    """``bandit -r .`` (with ``-c pyproject.toml`` when it has [tool.bandit]): findings and unparsable files."""
    # The console script, as a user types it: ``python -m bandit`` would import from the root.
    argv = [str(Path(sys.executable).with_name("bandit")), "-r", ".", "-f", "json", "-q"]
    pyproject = root / "pyproject.toml"
    if pyproject.exists() and "[tool.bandit]" in pyproject.read_text() and not (root / ".bandit").exists():
        argv += ["-c", "pyproject.toml"]
    completed = run_tool(argv, root)
    assert completed.returncode in (0, 1), completed.stderr.decode()
    report = json.loads(completed.stdout)
    findings = frozenset(
        (str(Path(entry["filename"])), entry["line_number"], entry["col_offset"] + 1, entry["test_id"])
        for entry in report["results"]
    )
    unparsable = frozenset(str(Path(error["filename"])) for error in report["errors"])
    return findings, unparsable


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_memo_reports_what_bandit_reports_at_the_root(name: str, tmp_path: Path) -> None:
    root = write_project(tmp_path / "project", PROJECTS[name])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    expected, unparsable = bare_bandit(root)
    cache = tmp_path / "cache"
    runs = standard_runs(root, "security", cache, elsewhere)
    runs["other-cwd-no-cache"] = run_memo(root, ["security"], cache, cwd=elsewhere, no_cache=True)
    assert runs["warm"].cache_hits > 0
    for how, run in runs.items():
        assert not run.errors, (how, run.errors)
        bandit_findings = {f for f in run.findings if f[3] != "unparsable"}
        assert frozenset(bandit_findings) == restricted(expected, run.files), how
        assert {f[0] for f in run.findings if f[3] == "unparsable"} == set(restricted_paths(unparsable, run.files)), how
    assert expected, "the project must give bandit something to find"


def restricted_paths(paths: frozenset[str], files: frozenset[str]) -> frozenset[str]:
    return frozenset(path for path in paths if path in files)


def test_editing_tool_bandit_changes_the_warm_result(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project", PROJECTS["no-config"])
    cache = tmp_path / "cache"
    before = run_memo(root, ["security"], cache)
    (root / "pyproject.toml").write_text('[tool.bandit]\nskips = ["B101"]\n')
    after = run_memo(root, ["security"], cache)
    assert after.findings == run_memo(root, ["security"], cache, no_cache=True).findings
    assert {f for f in after.findings if f[3] != "unparsable"} == restricted(bare_bandit(root)[0], after.files)
    assert any(f[3] == "B101" for f in before.findings) and not any(f[3] == "B101" for f in after.findings)
