"""The project's own validators are checkout code: loaded only when the user says so, never beside a writer key."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from memo.credentials import SECRET_ENV, SIGNING_KEY_ENV
from memo.engine import Engine, EngineError
from memo.engine.trust import TRUST_ENV, Trust, parse_trust, resolve_trust
from tests.helpers import run_memo, write
from tests.remote_support import SIGNING_KEY

SPEC = "checks.probe:ProbeValidator"

PROBE = """
from __future__ import annotations

import json
import os
import pathlib

from memo import ValidationResult, cached_validation
from memo.validators import Validator

pathlib.Path({marker!r}).write_text(json.dumps({{
    name: os.environ.get(name) for name in ("VALIDATION_CACHE_SECRET", "VALIDATION_CACHE_SIGNING_KEY")
}}))


class ProbeValidator(Validator):
    dimension = "probe"
    version = "1"

    @cached_validation()
    async def validate(self) -> ValidationResult:
        return ValidationResult("probe", passed=True)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose own validator, when imported, records which writer keys it could read."""
    root = tmp_path / "project"
    write(root / "pyproject.toml", f'[tool.memo]\nvalidators = ["{SPEC}"]\n')
    write(root / "checks/__init__.py", "")
    write(root / "checks/probe.py", PROBE.format(marker=str(tmp_path / "imported.json")))
    write(root / "app.py", "x = 1\n")
    return root


def seen_by_project_code(project: Path) -> dict[str, Any] | None:
    marker = project.parent / "imported.json"
    if not marker.exists():
        return None
    seen: dict[str, Any] = json.loads(marker.read_text())
    return seen


def test_without_trust_the_projects_validators_are_not_imported_the_rest_runs_and_the_run_does_not_pass(
    project: Path,
) -> None:
    done = run_memo("run", ".", "--no-cache", "--format", "json", cwd=project)

    assert seen_by_project_code(project) is None
    assert done.returncode == 1
    warnings = [line for line in done.stderr.splitlines() if SPEC in line]
    assert len(warnings) == 1 and "--trust-project" in warnings[0], done.stderr
    summary = json.loads(done.stdout)["summary"]
    assert summary["not_loaded_validators"] == [SPEC]
    assert summary["passed"] is False
    assert "lint" in summary["dimension_names"] and "probe" not in summary["dimension_names"]


def test_exit_zero_still_exits_zero_when_the_projects_validators_are_left_out(project: Path) -> None:
    done = run_memo("run", ".", "--no-cache", "--exit-zero", "--dimension", "syntax", cwd=project)

    assert done.returncode == 0, done.stderr
    assert seen_by_project_code(project) is None


def test_naming_a_project_dimension_without_trust_is_one_line_saying_how_to_load_it(project: Path) -> None:
    done = run_memo("run", ".", "--dimension", "probe", cwd=project)

    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1
    assert "unknown dimension 'probe'" in done.stderr and "--trust-project" in done.stderr
    assert seen_by_project_code(project) is None


@pytest.mark.parametrize("how", [("--trust-project",), ("--trust-project=yes",), ()])
def test_trusting_the_project_takes_the_writer_keys_away_before_its_code_is_imported(
    project: Path, how: tuple[str, ...]
) -> None:
    env = {SECRET_ENV: "team-secret", SIGNING_KEY_ENV: "writer-key", "VALIDATION_CACHE_REMOTE": "redis://127.0.0.1:9/0"}
    if not how:
        env[TRUST_ENV] = "1"

    done = run_memo("run", ".", *how, "--no-cache", "--format", "json", "--dimension", "probe", cwd=project, env=env)

    assert done.returncode == 0, done.stderr
    assert seen_by_project_code(project) == {SECRET_ENV: None, SIGNING_KEY_ENV: None}
    assert f"{SIGNING_KEY_ENV} and {SECRET_ENV} are left out" in done.stderr, done.stderr


def test_a_run_that_trusts_the_project_writes_no_shared_result(project: Path) -> None:
    # --no-cache is not given: the shared tier would be made after the project's code is
    # loaded. With the writer's key gone (and no verify key) it is off, before any connection is tried.
    env = {SIGNING_KEY_ENV: SIGNING_KEY, "VALIDATION_CACHE_REMOTE": "redis://127.0.0.1:9/0"}

    done = run_memo("run", ".", "--trust-project", "--dimension", "probe", cwd=project, env=env)

    assert done.returncode == 0, done.stderr
    assert f"neither {SIGNING_KEY_ENV} nor" in done.stderr
    assert "Connection" not in done.stderr and "refused" not in done.stderr


def test_trust_with_keys_keeps_them_because_the_user_said_both(project: Path) -> None:
    env = {SECRET_ENV: "team-secret", SIGNING_KEY_ENV: "writer-key"}

    done = run_memo("run", ".", "--trust-project=with-keys", "--no-cache", "--dimension", "probe", cwd=project, env=env)

    assert done.returncode == 0, done.stderr
    assert seen_by_project_code(project) == {SECRET_ENV: "team-secret", SIGNING_KEY_ENV: "writer-key"}
    assert "left out" not in done.stderr


def test_a_bad_trust_value_is_one_line_and_exit_2(project: Path) -> None:
    done = run_memo("run", ".", cwd=project, env={TRUST_ENV: "maybe"})

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"memo: error: {TRUST_ENV} must be one of no, yes, with-keys (or 0, 1), not 'maybe'"
    ]
    assert seen_by_project_code(project) is None


def test_the_api_engine_loads_the_projects_validators_only_when_trusted(
    project: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="memo")
    monkeypatch.delenv(TRUST_ENV, raising=False)
    config = {"validators": [SPEC]}
    request.addfinalizer(
        lambda: [sys.modules.pop(name) for name in list(sys.modules) if name.partition(".")[0] == "checks"]
    )

    untrusted = Engine(project, config, use_cache=False)
    assert untrusted.not_loaded == (SPEC,)
    assert "probe" not in {cls.dimension for cls in untrusted.validators}
    assert seen_by_project_code(project) is None

    monkeypatch.setenv(SECRET_ENV, "team-secret")
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    caplog.clear()
    trusted = Engine(project, config, use_cache=False, trust_project=True)
    assert "probe" in {cls.dimension for cls in trusted.validators}
    assert trusted.not_loaded == ()
    assert seen_by_project_code(project) == {SECRET_ENV: None, SIGNING_KEY_ENV: None}
    assert SECRET_ENV not in os.environ
    assert [record.getMessage() for record in caplog.records] == [
        f"memo: warning: the project's validators run in this process, so {SECRET_ENV} is left out: "
        "this run writes no shared results (--trust-project=with-keys keeps it)"
    ]

    monkeypatch.setenv(SECRET_ENV, "team-secret")
    kept = Engine(project, config, use_cache=False, trust_project="with-keys")
    assert "probe" in {cls.dimension for cls in kept.validators}
    assert os.environ[SECRET_ENV] == "team-secret"


@pytest.mark.parametrize(
    ("value", "trust"),
    [
        ("", Trust.NO),
        ("0", Trust.NO),
        ("No", Trust.NO),
        ("1", Trust.YES),
        ("true", Trust.YES),
        ("with-keys", Trust.WITH_KEYS),
    ],
)
def test_trust_spellings(value: str, trust: Trust) -> None:
    assert parse_trust(value) is trust


def test_an_explicit_trust_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TRUST_ENV, "with-keys")
    assert resolve_trust(False) is Trust.NO
    assert resolve_trust(None) is Trust.WITH_KEYS
    assert resolve_trust("yes") is Trust.YES
    with pytest.raises(EngineError, match="--trust-project must be one of"):
        resolve_trust("everything")
