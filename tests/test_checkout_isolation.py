"""Nothing from the checkout runs inside memo or its tools, and no tool process holds memo's credentials.

A hostile checkout puts modules named like what Python tools import (``yaml``,
``tokenize``, ``email``, ``selectors``, ``bandit``) at its root; importing any of them
writes a marker file. memo is started as users start it in such a checkout: its
console script, in the root.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404
import sys
from pathlib import Path
from typing import Any

import pytest

from memo.credentials import (
    CREDENTIAL_ENVS,
    PASSWORD_ENV,
    SECRET_ENV,
    SIGNING_KEY_ENV,
    drop_writer_keys,
    tool_environment,
)
from memo.validators import REGISTRY, _process, _tools

SCRIPTS = Path(sys.executable).parent
RUN_TIMEOUT_S = 300

INSECURE = "import subprocess\n\n\ndef deploy(command):\n    return subprocess.call(command, shell=True)\n"


def _marker_module(markers: Path, name: str) -> str:
    return f"import pathlib\n\npathlib.Path({str(markers / name)!r}).write_text('imported')\n"


def hostile_checkout(root: Path, markers: Path) -> Path:
    """A project whose root holds importable modules that announce being imported."""
    markers.mkdir(parents=True, exist_ok=True)
    files = {
        "pyproject.toml": '[project]\nname = "hostile"\n',
        "app.py": INSECURE,
        "yaml.py": _marker_module(markers, "yaml"),
        "tokenize.py": _marker_module(markers, "tokenize"),
        "selectors.py": _marker_module(markers, "selectors"),
        "email/__init__.py": _marker_module(markers, "email"),
        "bandit/__init__.py": _marker_module(markers, "bandit"),
        "mypy/__init__.py": _marker_module(markers, "mypy"),
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def memo_script(root: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``memo run . --format json ARGS`` with the console script, in ``root``: the parsed report."""
    script = SCRIPTS / "memo"
    assert script.exists(), f"memo's console script is not installed next to {sys.executable}"
    environment = {name: value for name, value in os.environ.items() if not name.startswith("VALIDATION_CACHE")}
    completed = subprocess.run(  # nosec B603 - our own script, fixed arguments
        [str(script), "run", ".", "--format", "json", *args],
        cwd=root,
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    report: dict[str, Any] = json.loads(completed.stdout)
    return report


def bare_bandit(root: Path) -> set[tuple[str, int, str]]:
    """``bandit -r .`` at the root, as a user types it: (file, line, test id) of each finding."""
    completed = subprocess.run(  # nosec B603 - the installed script, fixed arguments
        [str(SCRIPTS / "bandit"), "-r", ".", "-f", "json", "-q"],
        cwd=root,
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode in (0, 1), completed.stderr.decode()
    return {
        (os.path.normpath(entry["filename"]), entry["line_number"], entry["test_id"])
        for entry in json.loads(completed.stdout)["results"]
    }


def security_findings(report: dict[str, Any], root: Path) -> set[tuple[str, int, str]]:
    found = set()
    for result in report["results"]:
        if result["dimension"] != "security":
            continue
        assert result["status"] != "error", result["error"]
        for finding in result["findings"]:
            found.add((os.path.relpath(finding["path"], root), finding["line"], finding["code"]))
    return found


def test_memo_run_of_every_dimension_imports_nothing_from_a_hostile_checkout(tmp_path: Path) -> None:
    root = hostile_checkout(tmp_path / "project", tmp_path / "markers")
    report = memo_script(root, "--no-cache", "--dimension", ",".join(sorted(REGISTRY)))

    assert sorted(path.name for path in (tmp_path / "markers").iterdir()) == []
    assert [result["error"] for result in report["results"] if result["status"] == "error"] == []
    assert {result["dimension"] for result in report["results"]} == set(REGISTRY)
    assert security_findings(report, root) == bare_bandit(root)
    assert ("app.py", 5, "B602") in bare_bandit(root)


def test_a_tree_with_modules_named_like_the_standard_library_gets_bare_bandits_findings_cached_or_not(
    tmp_path: Path,
) -> None:
    # Ordinary project modules, named like modules bandit imports: under ``python -m
    # bandit`` in the root they replaced the standard library's and every batch crashed.
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "stdlib-names"\n', encoding="utf-8")
    for name in ("tokenize", "token", "ast", "enum", "logging", "json", "argparse", "textwrap"):
        (root / f"{name}.py").write_text(f"def {name}_of(text):\n    return eval(text)\n", encoding="utf-8")
    (root / "app.py").write_text(INSECURE, encoding="utf-8")
    cache = ["--cache-dir", str(tmp_path / "cache"), "--dimension", "security"]

    cold = security_findings(memo_script(root, *cache), root)
    warm_report = memo_script(root, *cache)
    uncached = security_findings(memo_script(root, *cache, "--no-cache"), root)

    assert warm_report["summary"]["cache_hits"] == warm_report["summary"]["files"]
    assert cold == security_findings(warm_report, root) == uncached == bare_bandit(root)
    assert ("tokenize.py", 2, "B307") in uncached


def test_the_launcher_imports_the_tool_not_the_working_directorys_module(tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    hostile_checkout(tmp_path / "project", markers)
    tool = _tools.find_tool.__wrapped__("bandit")  # type: ignore[attr-defined]
    assert tool is not None and tool.argv[1] == "-c"

    completed = subprocess.run(  # nosec B603 - our interpreter, the launcher, fixed arguments
        [*tool.argv, "--version"], cwd=tmp_path / "project", capture_output=True, timeout=60, check=False
    )

    assert completed.returncode == 0, completed.stderr.decode()
    assert b"bandit" in completed.stdout
    assert list(markers.iterdir()) == []


def test_the_launcher_honours_pythonpath_as_the_bare_script_does(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "sitecustomize_probe.py").write_text("VALUE = 'from PYTHONPATH'\n", encoding="utf-8")
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "probe_main.py").write_text(
        "import sys\n\n\ndef main():\n    import sitecustomize_probe\n\n"
        "    print(sitecustomize_probe.VALUE, '' in sys.path)\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(extra), str(probe)])}

    completed = subprocess.run(  # nosec B603 - our interpreter, the launcher, fixed arguments
        _tools.script_command("probe", "probe_main:main"), cwd=tmp_path, env=env, capture_output=True, check=False
    )

    assert completed.stdout.decode().split() == ["from", "PYTHONPATH", "False"], completed.stderr.decode()


@pytest.mark.parametrize(
    "argv",
    [
        ["/usr/bin/ruff", "check"],
        [sys.executable, "-c", "CODE", "bandit", "m:f"],
        [sys.executable, "-c", "CODE", "bandit"],
    ],
)
def test_a_failing_tool_is_named_by_its_own_name(argv: list[str]) -> None:
    assert _process.tool_name(argv) == ("ruff" if "ruff" in argv[0] else "bandit")


async def test_tool_processes_are_started_without_memos_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_ENVS:
        monkeypatch.setenv(name, "redis://:hunter2@cache.internal/0" if name.endswith("REMOTE") else "hunter2")
    monkeypatch.setenv("MEMO_TEST_KEPT", "kept")
    show = (
        "import os, json; "
        "print(json.dumps({k: v for k, v in os.environ.items() if 'hunter2' in v or k == 'MEMO_TEST_KEPT'}))"
    )

    completed = await _process.run([sys.executable, "-c", show], timeout=60)

    assert json.loads(completed.stdout) == {"MEMO_TEST_KEPT": "kept"}
    assert set(CREDENTIAL_ENVS) & set(tool_environment()) == set()


PLUGIN = """
import json
import os
import pathlib

pathlib.Path({marker!r}).write_text(json.dumps(sorted(k for k in os.environ if k.startswith("VALIDATION_CACHE"))))

from mypy.plugin import Plugin


def plugin(version):
    return Plugin
"""


def bare_mypy(root: Path) -> subprocess.CompletedProcess[bytes]:
    """``mypy`` at the root, as a user types it (its console script)."""
    return subprocess.run(  # nosec B603 - the installed script, fixed arguments
        [str(SCRIPTS / "mypy"), "app.py"], cwd=root, capture_output=True, timeout=RUN_TIMEOUT_S, check=False
    )


def mypy_project(root: Path, markers: Path, plugin: str) -> Path:
    markers.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(f'[tool.mypy]\nfiles = ["app.py"]\nplugins = ["{plugin}"]\n', encoding="utf-8")
    (root / "localplug.py").write_text(PLUGIN.format(marker=str(markers / "plugin")), encoding="utf-8")
    (root / "app.py").write_text("x: int = 1\n", encoding="utf-8")
    return root


def test_a_mypy_plugin_named_as_a_checkout_module_is_not_imported_as_bare_mypy_does_not(tmp_path: Path) -> None:
    root = mypy_project(tmp_path / "project", tmp_path / "markers", "localplug")
    report = memo_script(root, "--no-cache", "--dimension", "types")

    assert list((tmp_path / "markers").iterdir()) == []
    bare = bare_mypy(root)
    assert bare.returncode == 2 and b'Error importing plugin "localplug"' in bare.stderr
    (result,) = report["results"]
    assert result["status"] == "error" and "Error importing plugin" in result["error"]


def test_a_mypy_plugin_the_config_names_by_path_runs_as_in_bare_mypy_without_memos_credentials(tmp_path: Path) -> None:
    root = mypy_project(tmp_path / "project", tmp_path / "markers", "localplug.py")
    secrets = {name: "hunter2" for name in CREDENTIAL_ENVS if not name.endswith("REMOTE")}
    report = memo_script(root, "--no-cache", "--dimension", "types", env={**secrets, "VALIDATION_CACHE_ENABLED": "1"})

    (result,) = report["results"]
    assert result["status"] == "passed", result
    assert json.loads((tmp_path / "markers" / "plugin").read_text()) == ["VALIDATION_CACHE_ENABLED"]


def test_tool_environment_leaves_out_exactly_the_credentials_of_the_mapping_it_is_given() -> None:
    given = {name: "secret" for name in CREDENTIAL_ENVS} | {"PATH": "/bin", "VALIDATION_CACHE_DIR": "/c"}

    assert tool_environment(given) == {"PATH": "/bin", "VALIDATION_CACHE_DIR": "/c"}


def test_drop_writer_keys_names_the_keys_it_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    monkeypatch.setenv(SECRET_ENV, "team-secret")
    monkeypatch.setenv(PASSWORD_ENV, "kept")

    assert drop_writer_keys() == (SECRET_ENV,)
    assert SECRET_ENV not in os.environ and os.environ[PASSWORD_ENV] == "kept"
    assert drop_writer_keys() == ()


def test_only_console_scripts_are_launched() -> None:
    assert _tools._entry_point("bandit") == "bandit.cli.main:main"
    assert _tools._entry_point("lint") is None  # a memo.validators entry point, not a script
