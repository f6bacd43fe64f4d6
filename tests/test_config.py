"""One config module: layers, validation with clear messages, and what each validator sees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from memo.engine import EngineError, config, plugins
from memo.validators import ComplexityValidator, LintValidator
from tests.helpers import run_memo as memo
from tests.helpers import write


@pytest.mark.parametrize(
    ("pyproject", "message"),
    [
        (
            "[tool.memo.complexity]\nmax_complexty = 3\n",
            "config [complexity] has no option 'max_complexty' (did you mean 'max_complexity'?)",
        ),
        ("[tool.memo.complexty]\nmax_complexity = 3\n", "unknown section 'complexty' (did you mean 'complexity'?)"),
        ('[tool.memo]\nexcludes = ["a"]\n', "unknown key 'excludes' (did you mean 'exclude'?)"),
        ('[tool.memo.security]\nskips = ["B101"]\n', "config [security] has no option 'skips' (did you mean 'skip'?)"),
        ('[tool.memo]\nexclude = "app.py"\n', """'exclude' must be a list of glob patterns, not 'app.py'"""),
        (
            '[tool.memo.complexity]\nmax_complexity = "ten"\n',
            "option 'max_complexity' must be an integer >= 0, not 'ten'",
        ),
        ('[tool.memo.security]\nseverity = "hgh"\n', "option 'severity' must be one of low, medium, high"),
        ("[tool.memo]\ntimeout = -1\n", "'timeout' must be a positive number of seconds"),
        ("[tool.memo]\nlint = 3\n", "config 'lint' must be a table of lint options"),
    ],
)
def test_a_config_mistake_is_exit_2_with_one_line_naming_it(tmp_path: Path, pyproject: str, message: str) -> None:
    write(tmp_path / "pyproject.toml", pyproject)
    write(tmp_path / "app.py", "x = 1\n")
    done = memo("run", ".", "--no-cache", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("memo: error: ") and len(done.stderr.splitlines()) == 1, done.stderr
    assert message in done.stderr


def test_a_section_for_a_known_dimension_that_is_not_running_is_accepted() -> None:
    checked = config.check({"types": {"strict": True}}, [LintValidator], plugins.installed())
    assert checked["types"] == {"strict": True}


def test_options_of_a_dimension_that_is_not_running_are_not_checked() -> None:
    config.check({"types": {"strct": True}}, [LintValidator], plugins.installed())


def test_layers_apply_in_order_defaults_then_pyproject_then_config_file(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.memo.complexity]\nmax_complexity = 5\n[tool.memo.lint]\nselect = ['F']\n")
    extra = write(tmp_path / "extra.toml", "[complexity]\nmax_complexity = 7\n")
    base: dict[str, Any] = {"complexity": {"max_complexity": 3}, "exclude": ["gen/**"]}
    loaded = config.load(tmp_path, extra, base)
    assert loaded == {"complexity": {"max_complexity": 7}, "lint": {"select": ["F"]}, "exclude": ["gen/**"]}


def test_each_validator_sees_only_its_own_table() -> None:
    checked = config.check(
        {"lint": {"select": ["F"]}, "complexity": {"max_complexity": 4}, "exclude": ["x/**"]},
        [LintValidator, ComplexityValidator],
        plugins.installed(),
    )
    assert config.slice_for(LintValidator, checked) == {"lint": {"select": ["F"]}}
    assert config.slice_for(ComplexityValidator, checked) == {"complexity": {"max_complexity": 4}}


def test_a_config_value_with_no_canonical_form_is_rejected() -> None:
    with pytest.raises(EngineError, match="nan"):
        config.check({"lint": {"line_length": float("nan")}}, [], plugins.installed())
