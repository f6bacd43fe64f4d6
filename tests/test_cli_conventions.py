"""The conventions ruff users have in their fingers: ``-o``, ``--exit-zero``, ``-q``,
``--statistics``, ``--dimension``, one error prefix, exit codes in ``--help``, a warning
for a run that checks nothing, and a missing tool failing the run.

Every test runs ``python -m memo`` as a user would, with the real validators.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import run_memo as memo
from tests.helpers import write

BAD = "import os\nimport sys\n\n\ndef f() -> int:\n    return 1\n"
"""Two unused imports (F401 twice) and nothing else for any validator to report."""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with one file with two unused imports, one clean file, and a README."""
    root = tmp_path / "project"
    write(root / "pkg/__init__.py", "")
    write(root / "pkg/bad.py", BAD)
    write(root / "pkg/good.py", "def g() -> int:\n    return 2\n")
    write(root / "README.md", "# project\n")
    return root


# -- -o/--output --------------------------------------------------------------------------


def test_the_readmes_sarif_command_writes_the_file_and_the_summary_to_stderr(project: Path) -> None:
    done = memo("run", ".", "--format", "sarif", "-o", "memo.sarif", "--dimension", "lint", cwd=project)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    sarif = json.loads((project / "memo.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    assert sorted(result["ruleId"] for result in sarif["runs"][0]["results"]) == ["F401", "F401"]
    assert done.stderr.splitlines() == [line for line in done.stderr.splitlines() if line.startswith("FAILED: 3 files")]
    assert len(done.stderr.splitlines()) == 1


def test_output_long_form_with_text_writes_the_report_there(project: Path) -> None:
    done = memo("run", ".", "--output", "out/report.txt", "--dimension", "lint", cwd=project)
    assert done.returncode == 1 and done.stdout == ""
    report = (project / "out/report.txt").read_text(encoding="utf-8")
    assert "pkg/bad.py:1:8 F401" in report
    assert done.stderr.startswith("FAILED: 3 files")


# -- --exit-zero, -q, --statistics ---------------------------------------------------------


def test_exit_zero_reports_findings_but_exits_0(project: Path) -> None:
    done = memo("run", ".", "--exit-zero", "--dimension", "lint", cwd=project)
    assert done.returncode == 0
    assert "F401" in done.stdout and "FAILED" in done.stdout


def test_exit_zero_does_not_hide_a_usage_error(project: Path) -> None:
    done = memo("run", "no/such/dir", "--exit-zero", cwd=project)
    assert done.returncode == 2


def test_quiet_prints_the_findings_and_nothing_else(project: Path) -> None:
    done = memo("run", ".", "-q", "--dimension", "lint", cwd=project)
    assert done.returncode == 1
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("pkg/bad.py:") and " F401 " in line for line in lines)


def test_quiet_with_output_prints_nothing(project: Path) -> None:
    done = memo("run", ".", "--quiet", "-o", "r.txt", "--dimension", "lint", cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", "")
    assert "F401" in (project / "r.txt").read_text(encoding="utf-8")


def test_statistics_counts_findings_per_code(project: Path) -> None:
    write(project / "pkg/worse.py", "import json\n\nx = 1 \n")
    done = memo("run", ".", "--statistics", "--dimension", "lint,format", cwd=project)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["3", "F401", "[lint]"]
    assert lines[1].split()[0] == "1" and lines[1].split()[-1] == "[format]"
    assert lines[-1].startswith("FAILED: 5 files") and len(lines) == 3  # README.md is ruff format's too


def test_statistics_quiet_leaves_out_the_summary(project: Path) -> None:
    done = memo("run", ".", "--statistics", "-q", "--dimension", "lint", cwd=project)
    assert done.stdout.split() == ["2", "F401", "[lint]"]


# -- --dimension everywhere ----------------------------------------------------------------


@pytest.mark.parametrize("option", ["--dimension", "--dimensions"])
def test_run_takes_dimension_and_its_plural_alias(project: Path, option: str) -> None:
    done = memo("run", ".", "--format", "json", option, "lint,syntax", cwd=project)
    assert json.loads(done.stdout)["summary"]["dimension_names"] == ["lint", "syntax"]


@pytest.mark.parametrize("option", ["--dimension", "--dimensions"])
def test_render_takes_dimension_and_its_plural_alias(tmp_path: Path, option: str) -> None:
    done = memo("render", option, "lint", option, "syntax", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "LintValidator" in done.stdout and "SyntaxValidator" in done.stdout
    assert "SecurityValidator" not in done.stdout


# -- one error prefix, help ----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("--bogus",),
        ("run", "--bogus"),
        ("run", "--jobs", "two"),
        ("run", "--format", "xml"),
        ("run", "no/such/dir"),
        ("run", "--dimension", "nope"),
        ("render", "--dimension", "nope"),
        ("render", "--jobs", "0"),
        ("cache", "shred"),
        ("cache",),
    ],
)
def test_every_usage_error_is_one_line_with_the_memo_prefix_and_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = memo(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("memo: error: "), done.stderr


@pytest.mark.parametrize("command", [(), ("run",)])
def test_help_lists_exit_codes_and_dimensions(tmp_path: Path, command: tuple[str, ...]) -> None:
    done = memo(*command, "--help", cwd=tmp_path)
    assert done.returncode == 0
    for name in ("complexity", "format", "lint", "security", "syntax", "types"):
        assert f"\n  {name} " in done.stdout
    for code in ("0", "1", "2", "130"):
        assert f"\n  {code}  " in done.stdout
    assert "--trust-project" in done.stdout.split("exit status:", 1)[1]  # left-out validators fail the run
    assert "{dimensions}" not in done.stdout


# -- a run that checks nothing -------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["notes.txt", "docs", "generated.py"],
    ids=["a-file-no-tool-checks", "a-directory-no-tool-checks", "an-excluded-file-named-explicitly"],
)
def test_a_run_that_checks_nothing_warns_in_one_line_and_exits_0(project: Path, target: str) -> None:
    # Markdown is no longer such a file: ruff format checks it (the format dimension with it).
    write(project / "notes.txt", "notes\n")
    write(project / "docs/index.txt", "docs\n")
    write(project / "generated.py", BAD)
    write(project / "pyproject.toml", '[tool.memo]\nexclude = ["generated.py"]\n')
    done = memo("run", target, cwd=project)
    assert done.returncode == 0
    assert done.stderr.splitlines() == ["memo: warning: no Python files found to check"]
    assert "0 files" in done.stdout


def test_a_run_that_checks_something_does_not_warn(project: Path) -> None:
    done = memo("run", "pkg/good.py", "--dimension", "lint", cwd=project)
    assert done.returncode == 0 and done.stderr == ""


# -- a missing tool ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def python_without_ruff(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An interpreter that has everything this one has except ruff.

    A fresh virtual environment whose site-packages links to every entry of this one's but
    ruff's; with PATH pointing nowhere, ``ruff`` cannot be found as a package or a command.
    """
    venv = tmp_path_factory.mktemp("no-ruff") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    ours = Path(sysconfig.get_paths()["purelib"])
    theirs = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for entry in ours.iterdir():
        if not entry.name.lower().startswith("ruff"):
            (theirs / entry.name).symlink_to(entry)
    yield str(python)


def test_a_missing_tool_is_skipped_and_fails_the_run(project: Path, python_without_ruff: str) -> None:
    env = {"PATH": str(project / "no-bin")}
    done = memo("run", ".", "--dimension", "lint,format", cwd=project, env=env, python=python_without_ruff)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "skipped lint on 3 files: ruff is not installed" in lines
    assert "skipped format on 4 files: ruff is not installed" in lines  # README.md: ruff format checks Markdown
    assert lines[-1].startswith("FAILED: 4 files") and "0 findings, 0 errors, 7 skipped" in lines[-1]
    report = json.loads(
        memo(
            "run", ".", "--format", "json", "--dimension", "lint", cwd=project, env=env, python=python_without_ruff
        ).stdout
    )
    assert report["summary"]["skipped"] == 3 and report["summary"]["passed"] is False
    # The same tree with ruff installed: the skip, not the code, failed the run above.
    assert memo("run", "pkg/good.py", "--dimension", "lint,format", cwd=project).returncode == 0
    exit_zero = memo("run", ".", "--exit-zero", "--dimension", "lint", cwd=project, env=env, python=python_without_ruff)
    assert exit_zero.returncode == 0
