"""Each real validator reports the known problem in its fixture at the right line, and passes a clean file."""

from __future__ import annotations

from pathlib import Path

import pytest

from memo import ValidationResult
from memo.validators import DEFAULT_DIMENSIONS, REGISTRY

FIXTURES = Path(__file__).parent / "fixtures" / "validators"

# dimension -> (fixture, line, code) of the problem the validator must report
KNOWN_PROBLEMS = {
    "syntax": ("syntax_error.py", 3, "syntax-error"),
    "lint": ("lint_error.py", 3, "F401"),
    "format": ("unformatted.py", 3, "unformatted"),
    "security": ("insecure.py", 5, "B307"),
    "complexity": ("complex.py", 4, "too-complex"),
}


async def validate(dimension: str, path: Path, config: dict[str, object] | None = None) -> ValidationResult:
    return await REGISTRY[dimension](path, config).validate()


def test_every_default_dimension_has_a_known_problem_fixture() -> None:
    assert set(KNOWN_PROBLEMS) == set(DEFAULT_DIMENSIONS)


@pytest.mark.parametrize("dimension", sorted(KNOWN_PROBLEMS))
async def test_reports_the_known_problem_at_its_line_with_its_code(dimension: str) -> None:
    name, line, code = KNOWN_PROBLEMS[dimension]
    path = FIXTURES / name
    result = await validate(dimension, path)
    assert result.error is None
    assert not result.passed
    assert (line, code) in [(finding.line, finding.code) for finding in result.findings]
    assert all(finding.path == str(path) for finding in result.findings)
    assert result.file_path == str(path)


@pytest.mark.parametrize("dimension", sorted(KNOWN_PROBLEMS))
async def test_passes_a_clean_file(dimension: str) -> None:
    result = await validate(dimension, FIXTURES / "clean.py")
    assert result.error is None
    assert result.passed, result.findings
    assert result.findings == []


async def test_column_is_one_based_where_the_tool_points() -> None:
    lint = await validate("lint", FIXTURES / "lint_error.py")
    assert [(f.line, f.column) for f in lint.findings if f.code == "F401"] == [(3, 8)]
    syntax = await validate("syntax", FIXTURES / "syntax_error.py")
    assert [(f.line, f.column) for f in syntax.findings] == [(3, 12)]


async def test_security_maps_bandit_severity_and_keeps_its_test_id() -> None:
    result = await validate("security", FIXTURES / "insecure.py")
    [finding] = result.findings
    assert (finding.code, finding.severity) == ("B307", "warning")  # bandit MEDIUM
    assert "literal_eval" in finding.message


async def test_security_skip_option_is_passed_to_bandit() -> None:
    result = await validate("security", FIXTURES / "insecure.py", {"security": {"skip": ["B307"]}})
    assert result.passed and result.findings == []


async def test_complexity_reports_only_functions_over_max_complexity() -> None:
    strict = await validate("complexity", FIXTURES / "complex.py", {"complexity": {"max_complexity": 0}})
    assert [(f.line, f.code) for f in strict.findings] == [(4, "too-complex"), (30, "too-complex")]
    assert "'grade' has cyclomatic complexity 12" in strict.findings[0].message
    lenient = await validate("complexity", FIXTURES / "complex.py", {"complexity": {"max_complexity": 12}})
    assert lenient.passed


async def test_complexity_reports_methods_and_closures(tmp_path: Path) -> None:
    path = tmp_path / "nested.py"
    path.write_text(
        "class Box:\n"
        "    def pick(self, a):\n"
        "        if a:\n"
        "            return 1\n"
        "        return 2\n"
        "\n"
        "def outer(a):\n"
        "    def inner(b):\n"
        "        if b:\n"
        "            return b\n"
        "        return 0\n"
        "    return inner(a)\n",
        encoding="utf-8",
    )
    result = await validate("complexity", path, {"complexity": {"max_complexity": 1}})
    assert [(f.line, f.column) for f in result.findings] == [(2, 5), (8, 5)]
    assert "'Box.pick'" in result.findings[0].message


async def test_lint_select_option_changes_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "long.py"
    path.write_text("x = '" + "a" * 100 + "'\n", encoding="utf-8")
    default = await validate("lint", path)
    assert default.passed
    selected = await validate("lint", path, {"lint": {"select": ["E501"], "line_length": 88}})
    assert [(f.line, f.code) for f in selected.findings] == [(1, "E501")]


async def test_lint_reads_the_closest_ruff_config_in_the_tree_as_ruff_does(tmp_path: Path) -> None:
    # ruff uses the closest config above a file, wherever it runs; its digest is in the key.
    (tmp_path / "ruff.toml").write_text('line-length = 10\n[lint]\nselect = ["E501"]\n', encoding="utf-8")
    path = tmp_path / "short.py"
    path.write_text("value = 'more than ten'\n", encoding="utf-8")
    assert [(f.line, f.code) for f in (await validate("lint", path)).findings] == [(1, "E501")]


async def test_an_invalid_ruff_config_is_an_error_result(tmp_path: Path) -> None:
    (tmp_path / "ruff.toml").write_text("[lint]\nline-length = 10\n", encoding="utf-8")  # not a lint setting
    path = tmp_path / "short.py"
    path.write_text("value = 1\n", encoding="utf-8")
    for dimension in ("lint", "format"):
        result = await validate(dimension, path)
        assert not result.passed and result.error is not None and "ruff failed" in result.error


async def test_format_line_length_option_is_used(tmp_path: Path) -> None:
    path = tmp_path / "call.py"
    path.write_text("result = max(first_argument, second_argument, third_argument)\n", encoding="utf-8")
    assert (await validate("format", path)).passed
    narrow = await validate("format", path, {"format": {"line_length": 40}})
    assert [f.code for f in narrow.findings] == ["unformatted"]


@pytest.mark.parametrize("dimension", sorted(KNOWN_PROBLEMS))
async def test_a_missing_file_is_an_error_result_not_an_exception(dimension: str, tmp_path: Path) -> None:
    result = await validate(dimension, tmp_path / "gone.py")
    assert result.error is not None and "cannot read file" in result.error
    assert not result.passed


@pytest.mark.parametrize("dimension", sorted(KNOWN_PROBLEMS))
async def test_a_binary_file_gets_a_clear_result(dimension: str, tmp_path: Path) -> None:
    path = tmp_path / "blob.py"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    result = await validate(dimension, path)
    assert result.error is None
    assert not result.passed
    assert result.findings and all(f.path == str(path) for f in result.findings)


@pytest.mark.parametrize("dimension", sorted(KNOWN_PROBLEMS))
async def test_a_relative_path_is_kept_as_given(dimension: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    name = KNOWN_PROBLEMS[dimension][0]
    result = await validate(dimension, Path(name))
    assert result.file_path == name
    assert result.findings and all(f.path == name for f in result.findings)
