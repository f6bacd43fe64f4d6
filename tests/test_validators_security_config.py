"""security runs bandit as ``bandit -r .`` at the project root would, with the project's bandit config.

Every test runs the real bandit. The key side: the config's digest is the validator's
``cache_context()``, noticed after any edit (a same-size edit with its mtime restored
too), and the interpreter bandit parses with is in its identity.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from memo import ValidationResult, validator_identity
from memo.validators import _bandit_config, _context, _process, _tools
from memo.validators._context import ConfigMemo
from memo.validators.security import SecuritySettings, SecurityValidator

ASSERTS = "def f(x):\n    assert x\n    return eval(x)\n"
"""B101 (assert) at line 2 and B307 (eval) at line 3."""


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


async def check(root: Path, name: str, options: dict[str, object] | None = None) -> ValidationResult:
    config = {"security": options} if options else None
    return await SecurityValidator(root / name, config, root=root).validate()


def codes(result: ValidationResult) -> list[str]:
    assert result.error is None, result.error
    return sorted(finding.code for finding in result.findings)


async def test_without_bandit_config_every_check_runs(tmp_path: Path) -> None:
    root = project(tmp_path, {"a.py": ASSERTS})
    assert codes(await check(root, "a.py")) == ["B101", "B307"]


async def test_pyproject_tool_bandit_skips_apply(tmp_path: Path) -> None:
    root = project(tmp_path, {"a.py": ASSERTS, "pyproject.toml": '[tool.bandit]\nskips = ["B101"]\n'})
    assert codes(await check(root, "a.py")) == ["B307"]


async def test_dot_bandit_ini_skips_apply(tmp_path: Path) -> None:
    root = project(tmp_path, {"a.py": ASSERTS, ".bandit": "[bandit]\nskips = B307\n"})
    assert codes(await check(root, "a.py")) == ["B101"]


async def test_dot_bandit_configfile_is_used_instead_of_pyproject(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "a.py": ASSERTS,
            "pyproject.toml": '[tool.bandit]\nskips = ["B101"]\n',
            "bandit.yaml": "skips: ['B307']\n",
            ".bandit": "[bandit]\nconfigfile = bandit.yaml\n",
        },
    )
    assert codes(await check(root, "a.py")) == ["B101"]


async def test_memo_skip_applies_on_top_of_the_projects_skips(tmp_path: Path) -> None:
    root = project(tmp_path, {"a.py": ASSERTS, ".bandit": "[bandit]\nskips = B307\n"})
    assert codes(await check(root, "a.py", {"skip": ["B101"]})) == []


async def test_exclude_dirs_leave_excluded_files_without_findings(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "src/a.py": ASSERTS,
            "tests/test_a.py": ASSERTS,
            "pyproject.toml": '[tool.bandit]\nexclude_dirs = ["tests"]\n',
        },
    )
    assert codes(await check(root, "tests/test_a.py")) == []
    assert codes(await check(root, "src/a.py")) == ["B101", "B307"]


async def test_bandits_default_exclusions_match_as_they_do_under_the_root(tmp_path: Path) -> None:
    # bandit -r . skips anything whose path contains ".git" (its default --exclude), even
    # ".github/"; a project living under such a directory is still checked.
    root = project(tmp_path / "work.git" / "proj", {"a.py": ASSERTS, ".github/s.py": ASSERTS})
    assert codes(await check(root, "a.py")) == ["B101", "B307"]
    assert codes(await check(root, ".github/s.py")) == []


async def test_results_do_not_depend_on_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path / "p", {"a.py": ASSERTS, "pyproject.toml": '[tool.bandit]\nskips = ["B101"]\n'})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert codes(await check(root, "a.py")) == ["B307"]


async def test_an_unreadable_named_configfile_is_a_clear_error(tmp_path: Path) -> None:
    root = project(tmp_path, {"a.py": ASSERTS, ".bandit": "[bandit]\nconfigfile = missing.yaml\n"})
    result = await check(root, "a.py")
    assert result.error is not None and "missing.yaml" in result.error


def context(root: Path, name: str = "a.py") -> str:
    return SecurityValidator(root / name, None, root=root).cache_context()


def test_the_context_changes_with_the_tool_bandit_table_only(tmp_path: Path) -> None:
    _bandit_config._memo.clear()
    root = project(tmp_path, {"a.py": ASSERTS, "pyproject.toml": '[project]\nname = "a"\n'})
    plain = context(root)
    (root / "pyproject.toml").write_text('[project]\nname = "b"\n')
    assert context(root) == plain
    (root / "pyproject.toml").write_text('[project]\nname = "b"\n[tool.bandit]\nskips = ["B101"]\n')
    skipping = context(root)
    assert skipping != plain
    (root / ".bandit").write_text("[bandit]\nexclude = ./build\n")
    assert context(root) not in (plain, skipping)


def test_a_same_size_edit_with_its_mtime_restored_is_seen(tmp_path: Path) -> None:
    # Entries count as old (trusted by stat) at once; the edit keeps size and mtime, as
    # ``cp -p`` or ``touch -r`` would, and only ctime gives it away.
    memo = ConfigMemo(_bandit_config.derive, _bandit_config.watched, clock_ns=lambda: 1 << 62)
    root = project(tmp_path, {"pyproject.toml": '[tool.bandit]\nskips = ["B101"]\n'})
    before = memo.get(str(root))
    info = os.stat(root / "pyproject.toml")
    (root / "pyproject.toml").write_text('[tool.bandit]\nskips = ["B102"]\n')
    os.utime(root / "pyproject.toml", ns=(info.st_atime_ns, info.st_mtime_ns))
    assert memo.get(str(root)).skips == before.skips == ()  # skips of the table are bandit's, not the ini's
    assert memo.get(str(root)).digest != before.digest


def test_a_recent_config_is_read_again_rather_than_trusted_by_its_stat(tmp_path: Path) -> None:
    reads = []

    def derive(root: str) -> tuple[str, list[str]]:
        reads.append(root)
        return "value", []

    memo = ConfigMemo(derive, _bandit_config.watched)
    project(tmp_path, {"pyproject.toml": "[tool.bandit]\n"})  # just written: inside the racy window
    memo.get(str(tmp_path))
    memo.get(str(tmp_path))
    assert len(reads) == 2


async def test_a_config_changed_while_bandit_ran_is_an_error_not_a_result(tmp_path: Path) -> None:
    root = project(tmp_path, {"a.py": ASSERTS})
    tool = _tools.find_tool("bandit")
    assert tool is not None
    stale = SecuritySettings(str(root), (), "digest of a config that is no longer there")
    with pytest.raises(_process.ToolError, match="changed while bandit ran"):
        await SecurityValidator.check_chunk(tool, [str(root / "a.py")], stale, 60.0)


def test_the_interpreter_bandit_parses_with_is_in_the_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    # ``type Alias = int`` parses under 3.12 and not under 3.11: results must not cross.
    validator = SecurityValidator("a.py")
    assert _context.interpreter() in validator_identity(validator)
    first = validator_identity(validator)
    monkeypatch.setattr(_context, "interpreter", lambda: "cpython 3.99.0")
    assert validator_identity(validator) != first
