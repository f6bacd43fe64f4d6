"""The GitHub Actions example (docs/ci/github-actions.yml) agrees with what memo does.

The workflow is parsed, its steps are found by the actions they use, and the command of
its memo step is run here as the runner would run it: with the cache directory the
workflow restores, writing the SARIF file the workflow uploads.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from memo import default_cache_dir
from memo.cli.app import build_parser
from tests.helpers import write

WORKFLOW = Path(__file__).resolve().parent.parent / "docs" / "ci" / "github-actions.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    found = job["steps"]
    assert isinstance(found, list)
    return found


def step_using(workflow: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = [step for step in steps(workflow) if step.get("uses", "").split("@")[0] == action]
    return step


def memo_step(workflow: dict[str, Any]) -> dict[str, Any]:
    (step,) = [step for step in steps(workflow) if str(step.get("run", "")).startswith("memo ")]
    return step


def test_the_workflow_runs_on_pushes_and_pull_requests(workflow: dict[str, Any]) -> None:
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    assert workflow["permissions"]["security-events"] == "write"


def test_the_cache_step_restores_the_directory_memo_uses(
    workflow: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = workflow["env"]["VALIDATION_CACHE_DIR"]
    monkeypatch.setenv("VALIDATION_CACHE_DIR", "/some/where")
    assert default_cache_dir() == Path("/some/where"), "memo reads the variable the workflow sets"
    cache = step_using(workflow, "actions/cache")
    assert cache["with"]["path"] in ("${{ env.VALIDATION_CACHE_DIR }}", cache_dir)
    key = cache["with"]["key"]
    assert "${{ github.sha }}" in key, "a new key per commit: a saved cache is never updated"
    restore = cache["with"]["restore-keys"].strip().splitlines()
    assert restore and all(key.startswith(prefix) for prefix in restore)
    order = [step.get("uses", step.get("run")) for step in steps(workflow)]
    assert order.index(cache["uses"]) < order.index(memo_step(workflow)["run"]), "restored before memo runs"


def test_the_memo_step_writes_the_sarif_file_the_upload_step_uploads(workflow: dict[str, Any]) -> None:
    args = build_parser().parse_args(shlex.split(memo_step(workflow)["run"])[1:])
    assert (args.command, args.format) == ("run", "sarif")
    upload = step_using(workflow, "github/codeql-action/upload-sarif")
    assert upload["with"]["sarif_file"] == args.output
    assert re.search(r"always\(\)|!cancelled\(\)|failure\(\)", upload["if"]), "upload findings when memo fails"


def test_the_memo_step_as_the_runner_runs_it_fills_the_cache_and_writes_sarif(
    workflow: dict[str, Any], tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    write(workspace / "app.py", "import os\n")
    cache_dir = workflow["env"]["VALIDATION_CACHE_DIR"].replace("${{ github.workspace }}", str(workspace))
    env = {key: value for key, value in os.environ.items() if key != "VALIDATION_CACHE_ENABLED"}
    env["VALIDATION_CACHE_DIR"] = cache_dir
    argv = [sys.executable, "-m", "memo", *shlex.split(memo_step(workflow)["run"])[1:]]
    done = subprocess.run(argv, cwd=workspace, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    output = build_parser().parse_args(shlex.split(memo_step(workflow)["run"])[1:]).output
    sarif = json.loads((workspace / output).read_text(encoding="utf-8"))
    assert [result["ruleId"] for result in sarif["runs"][0]["results"]] == ["F401"]
    assert (Path(cache_dir) / "CACHEDIR.TAG").is_file()
    again = subprocess.run(argv, cwd=workspace, env=env, capture_output=True, text=True, check=False)
    assert "0 misses" in again.stderr, again.stderr  # the second run is served by that directory


def evaluate(value: str, event: str, ref: str) -> str:
    """A workflow value as the runner sets it, for the few expressions the example uses.

    GitHub's ``a && b || c`` returns an operand, as Python's ``and``/``or`` do, and an
    empty string is false in both.
    """
    contexts = {
        "github": SimpleNamespace(event_name=event, ref=ref, workspace="/workspace"),
        "secrets": SimpleNamespace(
            MEMO_LOCAL_KEY="local-key",
            MEMO_SIGNING_KEY="private-key",
            MEMO_REDIS_WRITER_PASSWORD="writer-password",  # nosec B106 - placeholders for a test
            MEMO_REDIS_READER_PASSWORD="reader-password",  # nosec B106
        ),
        "vars": SimpleNamespace(
            MEMO_VERIFY_KEYS="public-key", MEMO_REDIS_WRITER_URL="writer-url", MEMO_REDIS_READER_URL="reader-url"
        ),
    }

    def one(match: re.Match[str]) -> str:
        expression = match.group(1).replace("&&", " and ").replace("||", " or ")
        return str(eval(expression, {"__builtins__": {}}, contexts))  # nosec B307 - the example's own text

    return re.sub(r"\$\{\{(.*?)\}\}", one, value, flags=re.S)


def job_environment(workflow: dict[str, Any], event: str, ref: str) -> dict[str, str]:
    values = {**workflow["env"], **memo_step(workflow).get("env", {})}
    return {name: evaluate(str(value), event, ref) for name, value in values.items()}


def test_only_a_push_to_main_holds_the_signing_key_and_the_writer_user(workflow: dict[str, Any]) -> None:
    main = job_environment(workflow, "push", "refs/heads/main")
    assert main["VALIDATION_CACHE_SIGNING_KEY"] == "private-key"
    assert (main["VALIDATION_CACHE_REMOTE_MODE"], main["VALIDATION_CACHE_REMOTE"]) == ("read-write", "writer-url")
    assert main["VALIDATION_CACHE_REMOTE_PASSWORD"] == "writer-password"  # nosec B105
    for event, ref in (("pull_request", "refs/pull/7/merge"), ("push", "refs/heads/feature")):
        other = job_environment(workflow, event, ref)
        assert other["VALIDATION_CACHE_SIGNING_KEY"] == ""
        assert (other["VALIDATION_CACHE_REMOTE_MODE"], other["VALIDATION_CACHE_REMOTE"]) == ("read-only", "reader-url")
        assert other["VALIDATION_CACHE_REMOTE_PASSWORD"] == "reader-password"  # nosec B105
        assert other["VALIDATION_CACHE_VERIFY_KEYS"] == "public-key"
        assert "private-key" not in other.values()


def test_every_job_gets_the_local_key_so_a_restored_directory_verifies(workflow: dict[str, Any]) -> None:
    for event, ref in (("push", "refs/heads/main"), ("pull_request", "refs/pull/7/merge")):
        assert job_environment(workflow, event, ref)["VALIDATION_CACHE_LOCAL_KEY"] == "local-key"
