"""Declared checkers: a config table (or a Checker subclass) becomes a cached dimension; bad ones are clear errors."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from memo.engine import Engine, plugins
from memo.validators import Checker, DeclarationError
from tests.helpers import run_memo as run_untrusted
from tests.helpers import write

TRUSTED = {"VALIDATION_CACHE_TRUST_PROJECT": "1"}


def run_memo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """memo as a user who trusts this checkout runs it (``--trust-project``'s variable)."""
    return run_untrusted(*args, cwd=cwd, env=TRUSTED)


TOOL = """\
import sys
mode = sys.argv[1]
files = sys.argv[2:]
if mode == "garbage":
    print("something it was not declared to print")
    sys.exit(1)
if mode == "stranger":
    print("elsewhere.py:1:1: X001 not a file it was given")
    sys.exit(1)
if mode == "mutate":
    with open("fixme.cfg", "a", encoding="utf-8") as handle:
        handle.write("edited while the checker ran\\n")
if mode == "crash":
    print("usage error", file=sys.stderr)
    sys.exit(3)
for name in files:
    with open(name, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if "FIXME" in line:
                print(f"{name}:{number}:{line.index('FIXME') + 1}: FX01 fixme left here")
sys.exit(1 if any("FIXME" in open(name, encoding="utf-8").read() for name in files) else 0)
"""

PATTERN = r"^(?P<path>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<code>\w+) (?P<message>.*)$"


def declaration(tool: Path, mode: str = "normal", **extra: str) -> str:
    lines = [
        "[tool.memo.checkers.fixme]",
        f'command = [{json.dumps(sys.executable)}, {json.dumps(str(tool))}, {json.dumps(mode)}, "{{files}}"]',
        'files = ["*.txt", "*.py"]',
        'format = "regex"',
        f"pattern = '{PATTERN}'",
    ]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def tool(tmp_path: Path) -> Path:
    return write(tmp_path / "tools" / "fixme_tool.py", TOOL)


@pytest.fixture
def project(tmp_path: Path, tool: Path) -> Path:
    root = tmp_path / "project"
    write(root / "pyproject.toml", declaration(tool))
    write(root / "notes.txt", "fine\nFIXME: later\n")
    write(root / "clean.txt", "nothing to see\n")
    write(root / "app.py", "x = 1\n")
    return root


def json_report(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    completed = run_memo("run", ".", "--format", "json", *args, cwd=root)
    return completed.returncode, json.loads(completed.stdout)


def by_file(report: dict[str, Any], dimension: str = "fixme") -> dict[str, dict[str, Any]]:
    return {
        os.path.basename(result["file_path"]): result
        for result in report["results"]
        if result["dimension"] == dimension
    }


def test_a_declared_checker_is_a_cached_dimension_run_by_default(project: Path) -> None:
    status, cold = json_report(project)
    assert status == 1
    results = by_file(cold)
    assert set(results) == {"notes.txt", "clean.txt", "app.py"}
    assert [(f["line"], f["column"], f["code"]) for f in results["notes.txt"]["findings"]] == [(2, 1, "FX01")]
    assert results["clean.txt"]["passed"] and results["app.py"]["passed"]
    _, warm = json_report(project, "--dimension", "fixme")
    assert all(result["cached"] for result in by_file(warm).values())
    assert {k: (v["passed"], v["findings"]) for k, v in by_file(warm).items()} == {
        k: (v["passed"], v["findings"]) for k, v in results.items()
    }


def test_default_false_keeps_a_checker_out_of_the_default_dimensions(project: Path, tool: Path) -> None:
    write(project / "pyproject.toml", declaration(tool, default="false"))
    _, report = json_report(project)
    assert "fixme" not in report["summary"]["dimension_names"]
    _, named = json_report(project, "--dimension", "fixme")
    assert set(by_file(named)) == {"notes.txt", "clean.txt", "app.py"}


def test_editing_the_declaration_or_a_witness_is_a_miss(project: Path, tool: Path) -> None:
    write(project / "pyproject.toml", declaration(tool, witnesses='["fixme.cfg"]'))
    json_report(project, "--dimension", "fixme")
    _, warm = json_report(project, "--dimension", "fixme")
    assert warm["summary"]["cache_hits"] == 3
    write(project / "fixme.cfg", "strict = true\n")
    _, after_witness = json_report(project, "--dimension", "fixme")
    assert after_witness["summary"]["cache_hits"] == 0
    write(project / "pyproject.toml", declaration(tool, witnesses='["fixme.cfg"]', timeout="30"))
    _, after_edit = json_report(project, "--dimension", "fixme")
    assert after_edit["summary"]["cache_hits"] == 0


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("garbage", "exited with status 1 but its output held no finding"),
        ("stranger", "names a file it was not given: 'elsewhere.py'"),
        ("crash", "failed (exit status 3): usage error"),
    ],
)
def test_output_memo_cannot_read_is_an_error_result_never_stored(
    project: Path, tool: Path, mode: str, expected: str
) -> None:
    write(project / "pyproject.toml", declaration(tool, mode))
    for _ in range(2):
        status, report = json_report(project, "--dimension", "fixme")
        assert status == 1
        results = by_file(report)
        assert all(result["status"] == "error" and expected in result["error"] for result in results.values())
        assert report["summary"]["cache_hits"] == 0


def test_a_witness_edited_while_the_checker_runs_is_an_error_never_stored(project: Path, tool: Path) -> None:
    write(project / "pyproject.toml", declaration(tool, "mutate", witnesses='["fixme.cfg"]'))
    status, report = json_report(project, "--dimension", "fixme")
    assert status == 1
    results = by_file(report)
    assert {result["status"] for result in results.values()} == {"error"}
    assert all("changed while it ran; run again" in result["error"] for result in results.values())
    _, again = json_report(project, "--dimension", "fixme")
    assert again["summary"]["cache_hits"] == 0


def test_a_checker_whose_program_is_missing_is_skipped_and_fails_the_run(project: Path) -> None:
    write(
        project / "pyproject.toml",
        '[tool.memo.checkers.fixme]\ncommand = "no-such-checker-anywhere {files}"\n'
        'files = ["*.txt"]\nformat = "sarif"\n',
    )
    status, report = json_report(project, "--dimension", "fixme")
    assert status == 1
    assert {result["status"] for result in report["results"]} == {"skipped"}
    assert "no-such-checker-anywhere is not installed" in report["results"][0]["skip_reason"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('files = ["*.py"]\nformat = "sarif"', "config [checkers.bad] has no command"),
        ('command = ["x"]\nformat = "sarif"', "config [checkers.bad] has no files"),
        ('command = ["x"]\nfiles = ["*.py"]\nformat = "xml"', "'format' must be one of sarif, json, regex"),
        (
            'command = ["x"]\nfiles = ["*.py"]\nformat = "sarif"\ncomand = 1',
            "no key 'comand' (did you mean 'command'?)",
        ),
        (
            'command = ["x"]\nfiles = ["*.py"]\nformat = "regex"\npattern = \'^(?P<path>.*):(?P<line>\\d+)\'',
            "has no named group (?P<code>...)",
        ),
        ('command = ["x"]\nfiles = ["*.py"]\nformat = "regex"\npattern = "(unclosed"', "'pattern' does not compile"),
        ('command = ["x"]\nfiles = ["*.py"]\nformat = "json"\nfields = { path = "p" }', "must name line, code"),
        (
            'command = ["x"]\nfiles = ["*.py"]\nformat = "sarif"\nenv = { PYTHONPATH = "{import_roots}" }',
            'does not declare reads = "imports"',
        ),
        ('command = ["x"]\nfiles = ["*.py"]\nformat = "sarif"\nok_exit_codes = ["1-x"]', "'ok_exit_codes' must list"),
    ],
)
def test_a_bad_declaration_is_exit_2_with_one_line(tmp_path: Path, table: str, message: str) -> None:
    write(tmp_path / "pyproject.toml", f"[tool.memo.checkers.bad]\n{table}\n")
    write(tmp_path / "app.py", "x = 1\n")
    completed = run_memo("run", ".", cwd=tmp_path)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memo: error: ") and message in lines[0], completed.stderr


def test_a_checker_may_not_take_a_built_in_dimension(tmp_path: Path, tool: Path) -> None:
    write(tmp_path / "pyproject.toml", declaration(tool).replace("checkers.fixme", "checkers.lint"))
    completed = run_memo("run", ".", cwd=tmp_path)
    assert completed.returncode == 2
    assert "dimension 'lint' is already taken" in completed.stderr


def test_declared_checkers_are_declared_only_when_the_project_is_trusted(project: Path) -> None:
    config = {"checkers": {"fixme": {"command": ["x"], "files": ["*"], "format": "sarif"}}}
    assert "fixme" not in plugins.registry(config, project, "no")
    assert plugins.not_loaded(config, "no") == ("[checkers.fixme]",)
    assert "fixme" in plugins.registry(config, project, "yes")
    assert plugins.not_loaded(config, "yes") == ()


def test_without_trust_a_declared_checker_is_left_out_and_the_run_does_not_pass(project: Path) -> None:
    completed = run_untrusted("run", ".", "--format", "json", cwd=project)
    assert completed.returncode == 1
    report = json.loads(completed.stdout)
    assert "fixme" not in report["summary"]["dimension_names"]
    assert "[checkers.fixme]" in completed.stderr and "--trust-project" in completed.stderr
    named = run_untrusted("run", ".", "--dimension", "fixme", cwd=project)
    assert named.returncode == 2 and "[checkers.fixme]" in named.stderr and "--trust-project" in named.stderr


def test_naming_an_untrusted_declared_checker_says_it_is_declared_not_unknown(tmp_path: Path, tool: Path) -> None:
    write(tmp_path / "pyproject.toml", declaration(tool).replace("checkers.fixme", "checkers.pylint"))
    named = run_untrusted("run", ".", "--dimension", "pylint", cwd=tmp_path)
    assert named.returncode == 2 and len(named.stderr.splitlines()) == 1, named.stderr
    assert "[checkers.pylint]" in named.stderr and "--trust-project" in named.stderr
    assert "unknown" not in named.stderr and "did you mean 'lint'" not in named.stderr


def test_a_subclass_declares_a_checker_in_python(project: Path, tool: Path) -> None:
    class Fixme(Checker):
        dimension = "fixme"
        project_root = str(project)
        declaration: ClassVar[Mapping[str, Any] | None] = {
            "command": [sys.executable, str(tool), "normal", "{files}"],
            "files": ["*.txt"],
            "format": "regex",
            "pattern": PATTERN,
        }

    engine = Engine(project, {}, [Fixme], use_cache=False)
    report = asyncio.run(engine.run())
    found = {os.path.basename(str(r.file_path)): [f.code for f in r.findings] for r in report.results}
    assert found == {"clean.txt": [], "notes.txt": ["FX01"]}
    with pytest.raises(DeclarationError, match="has no command"):

        class Broken(Checker):
            dimension = "broken"
            declaration: ClassVar[Mapping[str, Any] | None] = {"files": ["*.py"], "format": "sarif"}


def test_memo_explain_names_a_checker_dimension(project: Path) -> None:
    run_memo("run", ".", cwd=project)
    completed = run_memo("explain", "notes.txt", "--dimension", "fixme", cwd=project)
    # The first line is the entry's; a second may say what the run manifest would do next.
    assert completed.stdout.splitlines()[0] == "notes.txt: fixme: hit: an entry for this key is stored"


README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "checkers"


def _readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("## Any checker, declared") :].split("\n## ", 1)[0]


def test_the_readme_shows_the_pylint_example_as_it_is() -> None:
    example = (EXAMPLES / "pylint.toml").read_text(encoding="utf-8")
    table = example[example.index("[tool.memo.checkers.pylint]") :]
    assert f"```toml\n{table}```" in _readme_section()


def test_the_readmes_python_checker_is_a_working_subclass(tmp_path: Path) -> None:
    code = _readme_section().split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # nosec B102 - the README's own example, run as a user pasting it would
    codespell = namespace["Codespell"]
    assert issubclass(codespell, Checker) and codespell.spec.format == "regex"
    if codespell(None).find() is None:
        pytest.skip("codespell is not installed")
    write(tmp_path / "notes.md", "teh cat\n")
    codespell.project_root = str(tmp_path)
    report = asyncio.run(Engine(tmp_path, {}, [codespell], use_cache=False).run())
    assert [(f.line, f.code) for r in report.results for f in r.findings] == [(1, "teh")]
