"""The ``memo`` command, run as users run it (``python -m memo``), with the real validators."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_memo as memo
from tests.helpers import write


@pytest.fixture
def dirty(tmp_path: Path) -> Path:
    """A tree with one lint problem (an unused import) and one clean file."""
    root = tmp_path / "dirty"
    write(root / "pkg/__init__.py", "")
    write(root / "pkg/bad.py", "import os\n\n\ndef f() -> int:\n    return 1\n")
    write(root / "pkg/good.py", "def g() -> int:\n    return 2\n")
    return root


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    root = tmp_path / "clean"
    write(root / "app.py", 'def main() -> str:\n    return "ok"\n')
    return root


def json_report(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    report = json.loads(completed.stdout)
    assert isinstance(report, dict)
    return report


def test_json_report_loads_with_the_contract_fields(tmp_path: Path, dirty: Path) -> None:
    done = memo("run", str(dirty), "--format", "json", "--dimension", "lint", "--cache-dir", "c", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    report = json_report(done)
    summary = report["summary"]
    assert {"files", "dimensions", "findings", "cache_hits", "cache_misses", "errors", "passed", "wall_time_s"} <= set(
        summary
    )
    assert (summary["files"], summary["dimensions"], summary["passed"]) == (3, 1, False)
    assert summary["findings"] == 1 and summary["cache_misses"] == 3
    for result in report["results"]:
        assert set(result) == {
            "dimension",
            "file_path",
            "status",
            "passed",
            "cached",
            "error",
            "skip_reason",
            "duration_s",
            "findings",
        }
        assert result["status"] == ("failed" if result["findings"] else "passed")
    (finding,) = [f for r in report["results"] for f in r["findings"]]
    assert set(finding) == {"path", "line", "column", "code", "message", "severity"}
    assert (finding["code"], finding["line"], finding["column"]) == ("F401", 1, 8)
    assert finding["path"].endswith("bad.py")


def test_sarif_report_has_the_required_2_1_0_fields(tmp_path: Path, dirty: Path) -> None:
    done = memo("run", str(dirty), "--format", "sarif", "--dimension", "lint", "--cache-dir", "c", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    sarif = json_report(done)
    assert sarif["version"] == "2.1.0" and "sarif" in sarif["$schema"]
    (run,) = sarif["runs"]
    assert run["tool"]["driver"]["name"] == "memo"
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["F401"]
    (result,) = run["results"]
    assert result["ruleId"] == "F401" and result["level"] == "error"
    assert "os" in result["message"]["text"]
    (location,) = result["locations"]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "pkg/bad.py"
    assert (physical["region"]["startLine"], physical["region"]["startColumn"]) == (1, 8)


def test_text_report_lists_findings_by_file_then_a_summary(tmp_path: Path, dirty: Path) -> None:
    done = memo("run", "dirty", "--dimension", "lint", "--cache-dir", "c", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("dirty/pkg/bad.py:1:8 F401 ")
    assert lines[-1].startswith("FAILED: 3 files, 1 dimension, 1 finding, 0 errors, 0 cache hits, 3 misses")
    assert done.stderr == "", "no progress bar when not on a terminal"


def test_clean_tree_exits_0_and_the_second_run_is_all_cache_hits(tmp_path: Path, clean: Path) -> None:
    first = memo("run", str(clean), "--format", "json", "--cache-dir", "c", cwd=tmp_path)
    assert first.returncode == 0, first.stdout
    report = json_report(first)
    assert report["summary"]["passed"] and report["summary"]["errors"] == 0
    dimensions = {result["dimension"] for result in report["results"]}
    assert {"syntax", "lint", "format", "security", "complexity"} <= dimensions
    assert not any(result["cached"] for result in report["results"])

    second = json_report(memo("run", str(clean), "--format", "json", "--cache-dir", "c", cwd=tmp_path))
    assert second["results"] and all(result["cached"] for result in second["results"])
    assert second["summary"]["cache_hits"] == len(second["results"]) and second["summary"]["cache_misses"] == 0


def test_dirty_tree_exits_1_and_the_second_run_is_all_cache_hits(tmp_path: Path, dirty: Path) -> None:
    assert memo("run", str(dirty), "--cache-dir", "c", cwd=tmp_path).returncode == 1
    again = memo("run", str(dirty), "--format", "json", "--cache-dir", "c", cwd=tmp_path)
    assert again.returncode == 1
    results = json_report(again)["results"]
    assert results and all(result["cached"] for result in results)
    assert any(f["code"] == "F401" for r in results for f in r["findings"])


def test_no_cache_and_disabled_env_write_nothing(tmp_path: Path, clean: Path) -> None:
    done = memo("run", str(clean), "--no-cache", "--dimension", "lint", "--cache-dir", "c", cwd=tmp_path)
    assert done.returncode == 0 and not (tmp_path / "c").exists()
    disabled = {"VALIDATION_CACHE_ENABLED": "false"}
    done = memo("run", str(clean), "--dimension", "lint", cwd=tmp_path, env=disabled)
    assert done.returncode == 0 and not (tmp_path / "env-cache").exists()


def test_dimension_flag_is_repeatable_and_comma_separated(tmp_path: Path, clean: Path) -> None:
    args = ("run", str(clean), "--format", "json", "--no-cache")
    report = json_report(memo(*args, "--dimension", "lint,syntax", "--dimension", "format", cwd=tmp_path))
    assert report["summary"]["dimension_names"] == ["lint", "syntax", "format"]


def test_config_file_and_pyproject_section_reach_the_validators(tmp_path: Path, dirty: Path) -> None:
    write(dirty / "pyproject.toml", '[tool.memo]\nexclude = ["pkg/good.py"]\n[tool.memo.lint]\nignore = ["F401"]\n')
    args = ("run", str(dirty), "--format", "json", "--dimension", "lint", "--no-cache")
    report = json_report(memo(*args, cwd=tmp_path))
    # pkg/__init__.py, pkg/bad.py and pyproject.toml, which ruff lints too (RUF2xx)
    assert report["summary"]["findings"] == 0 and report["summary"]["files"] == 3
    write(tmp_path / "memo.json", json.dumps({"lint": {"ignore": []}}))
    report = json_report(memo(*args, "--config", "memo.json", cwd=tmp_path))
    assert report["summary"]["findings"] == 1, "--config is laid over [tool.memo]"


def test_output_file_receives_the_report(tmp_path: Path, dirty: Path) -> None:
    done = memo("run", str(dirty), "--format", "json", "--dimension", "lint", "--output", "r.json", cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["findings"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "no/such/dir"), "no such file or directory"),
        (("run", ".", "--dimension", "nope"), "unknown dimension 'nope'"),
        (("run", ".", "--config", "bad.json"), "cannot read config"),
        (("run", ".", "--config", "wrong.toml"), "'include' must be a list"),
        (("run", ".", "--config", "absent.toml"), "cannot read config"),
        (("run", ".", "--jobs", "0"), "--jobs"),
        (("run", ".", "--format", "xml"), "--format"),
        (("cache", "shred"), "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "wrong.toml").write_text("include = 3\n", encoding="utf-8")
    done = memo(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert message in done.stderr


def test_cache_stats_and_clear(tmp_path: Path, clean: Path) -> None:
    memo("run", str(clean), "--dimension", "lint,syntax", "--cache-dir", "c", cwd=tmp_path)
    stats = json.loads(memo("cache", "stats", "--format", "json", "--cache-dir", "c", cwd=tmp_path).stdout)
    assert stats["available"] and stats["state"] == "enabled" and stats["entries"] == 2
    assert stats["dimensions"].keys() == {"lint", "syntax"}
    assert all(held["entries"] == 1 and held["size_bytes"] > 0 for held in stats["dimensions"].values())
    text = memo("cache", "stats", "--cache-dir", "c", cwd=tmp_path).stdout
    assert "state: enabled" in text and "entries: 2 " in text and "  lint: 1 entry, " in text
    cleared = memo("cache", "clear", "--cache-dir", "c", cwd=tmp_path)
    assert cleared.returncode == 0 and cleared.stdout.startswith("removed 2 entries from ")
    stats = json.loads(memo("cache", "stats", "--format", "json", "--cache-dir", "c", cwd=tmp_path).stdout)
    assert stats["entries"] == 0 and stats["dimensions"] == {}


def test_cache_stats_counts_what_persists_not_this_process(tmp_path: Path, clean: Path) -> None:
    memo("run", str(clean), "--dimension", "lint", "--cache-dir", "c", cwd=tmp_path)
    memo("run", str(clean), "--dimension", "lint", "--cache-dir", "c", cwd=tmp_path)
    stats = json.loads(memo("cache", "stats", "--format", "json", "--cache-dir", "c", cwd=tmp_path).stdout)
    assert stats["entries"] == 1 and "hits" not in stats


def test_cache_stats_of_a_directory_that_cannot_be_used_says_why_and_exits_1(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    done = memo("cache", "stats", "--cache-dir", str(shared), cwd=tmp_path)
    assert done.returncode == 1
    assert "state: unavailable (" in done.stdout and "writable by group or others" in done.stdout
    missing = memo("cache", "stats", "--format", "json", "--cache-dir", "/proc/no/such", cwd=tmp_path)
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["available"] is False


def test_clearing_a_disabled_cache_says_so_and_removes_nothing(tmp_path: Path, clean: Path) -> None:
    memo("run", str(clean), "--dimension", "lint", "--cache-dir", "c", cwd=tmp_path)
    done = memo("cache", "clear", "--cache-dir", "c", cwd=tmp_path, env={"VALIDATION_CACHE_ENABLED": "false"})
    assert done.returncode == 1 and "disabled" in done.stderr and done.stdout == ""
    stats = json.loads(memo("cache", "stats", "--format", "json", "--cache-dir", "c", cwd=tmp_path).stdout)
    assert stats["entries"] == 1


def test_explain_names_the_key_part_that_changed(tmp_path: Path, clean: Path) -> None:
    args = ("--dimension", "lint,syntax", "--cache-dir", str(tmp_path / "c"))
    memo("run", str(clean), *args, cwd=tmp_path)
    app = clean / "app.py"
    hit = memo("explain", str(app), *args, cwd=tmp_path)
    assert hit.returncode == 0 and hit.stdout.count(": hit:") == 2, hit.stdout
    app.write_text(app.read_text() + "# changed\n")
    missed = json.loads(memo("explain", str(app), *args, "--format", "json", cwd=tmp_path).stdout)
    assert {(item["dimension"], item["status"], tuple(item["differing"])) for item in missed} == {
        ("lint", "miss", ("content",)),
        ("syntax", "miss", ("content",)),
    }
    (clean / "pyproject.toml").write_text('[tool.memo.lint]\nselect = ["F"]\n')
    memo("run", str(clean), *args, cwd=tmp_path)
    (clean / "pyproject.toml").write_text('[tool.memo.lint]\nselect = ["E"]\n')
    config = memo("explain", str(app), *args, cwd=tmp_path).stdout
    assert "lint: miss: config changed" in config and "syntax: hit" in config, config


def test_version_and_entry_point_agree(tmp_path: Path) -> None:
    import memo as memo_package

    done = memo("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"memo {memo_package.__version__}"


def test_an_error_every_file_shares_is_printed_once_with_its_count(tmp_path: Path) -> None:
    root = tmp_path / "broken"
    write(root / "pyproject.toml", "[tool.ruff]\nline-lenght = 3\n")
    for name in ("a.py", "b.py", "c.py"):
        write(root / name, "x = 1\n")
    done = memo("run", ".", "--dimension", "lint", "--no-cache", cwd=root)
    assert done.returncode == 1
    assert done.stdout.count("lint error on 3 files: ") == 1, done.stdout
    assert "a.py: lint error" not in done.stdout


EXIT_HOOK_PROBE = """
import concurrent.futures.process as process, os, sys, threading
from memo.cli import exit_now
from memo.validators import _pool, shutdown_workers

if __name__ == "__main__":
    _pool.executor().submit(int).result()
    shutdown_workers()
    # What the exit hook met now and then: a pool thread's wake-up pipe, already gone.
    wakeup, thread = process._ThreadWakeup(), threading.Thread(target=int)
    os.close(wakeup._writer.fileno())
    thread.start(), thread.join()
    process._threads_wakeups[thread] = wakeup
    exit_now(0) if sys.argv[1] == "exit_now" else sys.exit(0)
"""


def test_the_process_ends_without_concurrent_futures_exit_hook_tracebacks(tmp_path: Path) -> None:
    """The exit hook wakes pool threads through pipes that may be gone; ``exit_now`` never runs it."""
    probe = write(tmp_path / "probe.py", EXIT_HOOK_PROBE)
    ordinary = subprocess.run([sys.executable, str(probe), "sys.exit"], capture_output=True, text=True, timeout=60)
    assert "Bad file descriptor" in ordinary.stderr, ordinary.stderr  # the failure, staged
    ended = subprocess.run([sys.executable, str(probe), "exit_now"], capture_output=True, text=True, timeout=60)
    assert (ended.returncode, ended.stderr) == (0, "")
