"""memo installs beside anything: ``validators`` and ``orchestrator`` from the index keep working.

Both names belong to other distributions on the package index (``validators``, a
data-validation library; ``orchestrator``, a process runner). memo installs only ``memo``,
so installing, upgrading or uninstalling either side never touches the other's files: each
test installs in one order, checks both, uninstalls one side and checks the other.
"""

from __future__ import annotations

from pathlib import Path

from tests.packaging._support import Distributions, Environment

OTHERS = ("validators", "orchestrator")
"""Distributions on the index whose import names memo used to install as its own."""

THEY_WORK = (
    "import validators\n"
    "assert validators.email('someone@example.com') is True\n"
    "assert not validators.email('not an address')\n"
    "from orchestrator.timeout import Timeout\n"
    "assert Timeout(60).remain_sec() > 0\n"
    "print('others ok')\n"
)

MEMO_WORKS = (
    "import memo, memo.validators, memo.engine, memo.cli\n"
    "from memo.validators import Validator, SyntaxValidator\n"
    "from memo.engine import Engine\n"
    "assert issubclass(SyntaxValidator, Validator)\n"
    "print('memo ok')\n"
)


def _memo_runs(env: Environment, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir(exist_ok=True)
    (tree / "good.py").write_text("x = 1\n")
    (tree / "bad.py").write_text("def broken(:\n")
    done = env.run(env.bin / "memo", "run", ".", "--dimension", "syntax", "--no-cache", cwd=tree, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "bad.py" in done.stdout and "good.py" not in done.stdout.replace("bad.py", "")


def _installed_top_level(env: Environment, distribution: str) -> set[str]:
    """The first path component of every file the distribution's RECORD lists, less metadata and scripts."""
    code = (
        "import importlib.metadata as m, sys\n"
        f"files = m.distribution({distribution!r}).files or []\n"
        "print('\\n'.join(sorted({f.parts[0] for f in files})))\n"
    )
    names = set(env.python_ok(code).split())
    return {name for name in names if not name.endswith(".dist-info") and name != ".."}


def test_the_wheel_installs_only_the_name_memo(fresh_env: Environment, distributions: Distributions) -> None:
    fresh_env.pip("install", "-q", distributions.wheel)
    assert _installed_top_level(fresh_env, "memo-validators") == {"memo"}


def test_others_installed_first_keep_working_beside_memo_and_after_its_uninstall(
    fresh_env: Environment, distributions: Distributions, tmp_path: Path
) -> None:
    fresh_env.pip("install", "-q", *OTHERS)
    assert "others ok" in fresh_env.python_ok(THEY_WORK, cwd=tmp_path)
    fresh_env.pip("install", "-q", distributions.wheel)
    assert "others ok" in fresh_env.python_ok(THEY_WORK, cwd=tmp_path)
    assert "memo ok" in fresh_env.python_ok(MEMO_WORKS, cwd=tmp_path)
    _memo_runs(fresh_env, tmp_path)
    fresh_env.pip("check")
    fresh_env.pip("uninstall", "-y", "-q", "memo-validators")
    assert "others ok" in fresh_env.python_ok(THEY_WORK, cwd=tmp_path)
    fresh_env.pip("check")


def test_memo_installed_first_keeps_working_beside_others_and_after_their_uninstall(
    fresh_env: Environment, distributions: Distributions, tmp_path: Path
) -> None:
    fresh_env.pip("install", "-q", distributions.wheel)
    _memo_runs(fresh_env, tmp_path)
    fresh_env.pip("install", "-q", *OTHERS)
    assert "others ok" in fresh_env.python_ok(THEY_WORK, cwd=tmp_path)
    assert "memo ok" in fresh_env.python_ok(MEMO_WORKS, cwd=tmp_path)
    fresh_env.pip("check")
    fresh_env.pip("uninstall", "-y", "-q", *OTHERS)
    assert "memo ok" in fresh_env.python_ok(MEMO_WORKS, cwd=tmp_path)
    _memo_runs(fresh_env, tmp_path)
    fresh_env.pip("check")
