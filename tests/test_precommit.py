"""memo's pre-commit hook (``.pre-commit-hooks.yaml``), run by the real ``pre-commit``.

``try-repo`` installs the hook as a user's ``pre-commit`` would (a virtual environment
with this repository pip-installed, uncommitted changes included), so it needs the
package registry once per session. The commit test runs the same hook definition from a
``repo: local`` config on this interpreter, so it proves a bad staged file stops
``git commit`` without installing anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
BAD = "import os\n"
GOOD = "def f() -> int:\n    return 1\n"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def manifest_hook() -> dict[str, Any]:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = [hook for hook in hooks if hook["id"] == "memo"]
    assert isinstance(hook, dict)
    return hook


def pre_commit() -> list[str]:
    return [sys.executable, "-m", "pre_commit"]


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hook environment for the session: pre-commit installs it on first use."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def git_repo(tmp_path: Path, pre_commit_home: Path) -> tuple[Path, dict[str, str]]:
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {
        **{key: value for key, value in os.environ.items() if key != "VALIDATION_CACHE_ENABLED"},
        "PRE_COMMIT_HOME": str(pre_commit_home),
        "VALIDATION_CACHE_DIR": str(tmp_path / "cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, env=env, check=True)
    return repo, env


def run(args: list[str], repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, check=False, timeout=900)


def test_the_manifest_runs_memo_on_the_staged_python_files() -> None:
    hook = manifest_hook()
    assert hook["entry"] == "memo run"
    assert hook["language"] == "python"
    assert "python" in hook.get("types", hook.get("types_or", []))
    assert hook.get("pass_filenames", True) and hook["require_serial"]


def test_try_repo_fails_on_a_bad_staged_file_and_passes_a_clean_one(git_repo: tuple[Path, dict[str, str]]) -> None:
    repo, env = git_repo
    (repo / "bad.py").write_text(BAD, encoding="utf-8")
    (repo / "notes.txt").write_text("import os\n", encoding="utf-8")
    run(["git", "add", "bad.py", "notes.txt"], repo, env)
    failed = run([*pre_commit(), "try-repo", str(REPO), "memo"], repo, env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "bad.py:1:8 F401" in failed.stdout and "FAILED: 1 file," in failed.stdout
    assert "notes.txt" not in failed.stdout.split("memo....")[-1]

    (repo / "bad.py").write_text(GOOD, encoding="utf-8")
    run(["git", "add", "bad.py"], repo, env)
    passed = run([*pre_commit(), "try-repo", str(REPO), "memo"], repo, env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout


def test_the_hook_stops_a_commit_of_a_bad_file_and_lets_a_clean_one_through(
    git_repo: tuple[Path, dict[str, str]],
) -> None:
    repo, env = git_repo
    hook = {**manifest_hook(), "language": "system", "entry": f"{sys.executable} -m memo run"}
    hook.pop("additional_dependencies", None)
    config = {"repos": [{"repo": "local", "hooks": [hook]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    installed = run([*pre_commit(), "install"], repo, env)
    assert installed.returncode == 0, installed.stderr
    (repo / "app.py").write_text(BAD, encoding="utf-8")
    (repo / "other.py").write_text(GOOD, encoding="utf-8")
    run(["git", "add", ".pre-commit-config.yaml", "app.py", "other.py"], repo, env)

    refused = run(["git", "commit", "-q", "-m", "bad"], repo, env)
    assert refused.returncode != 0
    assert "app.py:1:8 F401" in refused.stdout + refused.stderr
    assert run(["git", "rev-parse", "--verify", "HEAD"], repo, env).returncode != 0, "nothing was committed"

    (repo / "app.py").write_text(GOOD, encoding="utf-8")
    run(["git", "add", "app.py"], repo, env)
    accepted = run(["git", "commit", "-q", "-m", "good"], repo, env)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    # Only the staged files were given to memo: an unstaged bad file does not block a commit.
    (repo / "later.py").write_text(BAD, encoding="utf-8")
    (repo / "other.py").write_text(GOOD.replace("1", "2"), encoding="utf-8")
    run(["git", "add", "other.py"], repo, env)
    assert run(["git", "commit", "-q", "-m", "more"], repo, env).returncode == 0
