"""Bad input and faults through a full run (the ``memo`` command and ``ValidationOrchestrator``)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

import memo.engine.engine
import memo.validators._process as tool_process
from memo import ValidationCache, ValidationResult, cached_validation
from memo.validators.base import Validator
from orchestrator import ValidationOrchestrator

from ._support import PROJECT, record_figure, scaled
from ._support import process_alive as _alive

RUN_TIMEOUT = 300
"""A hang fails the test (with the process killed) instead of stalling CI."""


def _memo_run(root: Path, cache_dir: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    completed = subprocess.run(
        [sys.executable, "-m", "memo.cli", "run", str(root), "--cache-dir", str(cache_dir), "--format", "json", *extra],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        cwd=PROJECT,
    )
    assert "Traceback" not in completed.stderr, completed.stderr[-3000:]
    assert completed.returncode in (0, 1), completed.stderr[-3000:]
    return completed.returncode, json.loads(completed.stdout), completed.stderr


def _comparable(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Results without the fields that differ between a fresh and a cached run."""
    return sorted(
        (r["file_path"], r["dimension"], r["passed"], r["error"], json.dumps(r["findings"], sort_keys=True))
        for r in report["results"]
    )


AWKWARD_NAMES = ["with space.py", "caf\u00e9_\u65e5\u672c.py", "new\nline.py", "-dash.py", "quote'\".py"]


def _hostile_tree(root: Path) -> set[str]:
    """A tree full of things a run must survive; the regular files it should validate."""
    (root / "pkg").mkdir(parents=True)
    regular = {
        "pkg/ok.py": b"import os\n\n\ndef f(x):\n    return os.sep + x\n",
        "pkg/empty.py": b"",
        "pkg/binary.py": b"\x00\x01\x02 binary \xff\xfe\x00",
        "pkg/latin1.py": "s = 'caf\u00e9'\n".encode("latin-1"),
        "pkg/syntax_error.py": b"def f(:\n",
        "pkg/crlf.py": b"x = 1\r\ny = 2\r\n",
    }
    for name in AWKWARD_NAMES:
        regular[f"pkg/{name}"] = b"x = 1\n"
    for name, content in regular.items():
        (root / name).write_bytes(content)
    os.mkfifo(root / "pkg" / "fifo.py")
    (root / "pkg" / "device.py").symlink_to("/dev/zero")
    (root / "pkg" / "loop_a.py").symlink_to(root / "pkg" / "loop_b.py")
    (root / "pkg" / "loop_b.py").symlink_to(root / "pkg" / "loop_a.py")
    (root / "pkg" / "dangling.py").symlink_to(root / "pkg" / "missing.py")
    (root / "pkg" / "dir_loop").symlink_to(root / "pkg", target_is_directory=True)
    return {str(root / name) for name in regular}


def _assert_results_are_clear(root: Path, report: dict[str, Any]) -> None:
    """No error is a traceback, and the syntax results tell the broken file from the good one."""
    for result in report["results"]:
        assert result["error"] is None or "Traceback" not in result["error"]
    syntax = {r["file_path"]: r for r in report["results"] if r["dimension"] == "syntax"}
    assert syntax[str(root / "pkg/syntax_error.py")]["passed"] is False
    assert syntax[str(root / "pkg/ok.py")]["passed"] is True


def _assert_findings_point_at_the_awkward_paths(root: Path, report: dict[str, Any]) -> None:
    """A finding in a file with an awkward name names that file itself (or no file)."""
    for name in AWKWARD_NAMES:
        for result in (r for r in report["results"] if r["file_path"] == str(root / "pkg" / name)):
            assert all(f["path"] in (str(root / "pkg" / name), "") for f in result["findings"])


@pytest.mark.stress
def test_a_hostile_tree_gives_clear_results_and_a_correct_cache(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    expected = _hostile_tree(root)
    cache_dir = tmp_path / "cache"
    _, first, _ = _memo_run(root, cache_dir)
    _, second, _ = _memo_run(root, cache_dir)
    _, fresh, _ = _memo_run(root, cache_dir, "--no-cache")
    assert {r["file_path"] for r in first["results"]} == expected  # no FIFO, device, loop or dangling link
    assert _comparable(first) == _comparable(second) == _comparable(fresh)
    cacheable = [r for r in first["results"] if r["error"] is None]
    assert second["summary"]["cache_hits"] == len(cacheable)
    _assert_results_are_clear(root, first)
    _assert_findings_point_at_the_awkward_paths(root, second)
    record_figure("hostile-tree", regular_files=len(expected), special_entries=5, results=len(first["results"]))


@pytest.mark.stress
def test_tens_of_thousands_of_findings_through_a_full_run(tmp_path: Path) -> None:
    count = scaled(20_000)
    root = tmp_path / "tree"
    root.mkdir()
    (root / "many.py").write_text("".join(f"import m{i}\n" for i in range(count)))
    cache_dir = tmp_path / "cache"
    _, first, _ = _memo_run(root, cache_dir, "--dimension", "lint")
    _, second, _ = _memo_run(root, cache_dir, "--dimension", "lint")
    assert first["summary"]["findings"] == second["summary"]["findings"] == count
    assert second["summary"]["cache_hits"] == 1
    assert _comparable(first) == _comparable(second)


def _orchestrator(root: Path, cache_dir: Path, **kwargs: Any) -> ValidationOrchestrator:
    return ValidationOrchestrator(root, cache=ValidationCache(cache_dir), **kwargs)


async def _fresh(root: Path) -> list[tuple[Any, ...]]:
    report = await ValidationOrchestrator(root, use_cache=False).run()
    return _comparable({"results": [r.to_dict() for r in report.results]})


def _results(report: Any) -> list[tuple[Any, ...]]:
    return _comparable({"results": [r.to_dict() for r in report.results]})


@pytest.mark.parametrize("change", ["deleted", "rewritten", "replaced-by-fifo"])
async def test_a_file_that_changes_between_discovery_and_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    for index in range(4):
        (root / f"m{index}.py").write_text(f"import os\nx{index} = {index}\n")
    victim = root / "m1.py"
    real_discover = memo.engine.engine.discover

    def discover_then_change(*args: Any, **kwargs: Any) -> list[Path]:
        found = real_discover(*args, **kwargs)
        _change(victim, change)
        return found

    monkeypatch.setattr(memo.engine.engine, "discover", discover_then_change)
    with _orchestrator(root, tmp_path / "cache") as run:
        report = await asyncio.wait_for(run.run(), RUN_TIMEOUT)
        entries = run.cache_stats()["entries"]
    monkeypatch.undo()
    about_victim = [r for r in report.results if r.file_path == str(victim)]
    _assert_reported(change, report, about_victim, root / "m0.py")
    if change == "rewritten":
        # Validated as it now is; and whatever was stored is right for the new content.
        syntax = next(r for r in about_victim if r.dimension == "syntax")
        assert syntax.passed is False
        if victim.exists():
            with _orchestrator(root, tmp_path / "cache") as again:
                assert _results(await again.run()) == await _fresh(root)
    else:
        assert all(r.error is not None or r.passed for r in about_victim)
        assert entries <= len(report.results) - len(about_victim)  # nothing stored for a file that is not there
    if change == "replaced-by-fifo":
        victim.unlink()


def _change(victim: Path, change: str) -> None:
    """Delete ``victim``, then rewrite it or put a FIFO in its place, as ``change`` says."""
    victim.unlink()
    if change == "rewritten":
        victim.write_text("def broken(:\n")
    elif change == "replaced-by-fifo":
        os.mkfifo(victim)


def _assert_reported(change: str, report: Any, about_victim: list[Any], untouched: Path) -> None:
    """A deleted file is reported at most in the dimensions an untouched one is; a changed one in every dimension."""
    dimensions = {r.dimension for r in report.results if r.file_path == str(untouched)}
    if change == "deleted":  # a tool asked for its file set after the deletion leaves the file out, as it would bare
        assert about_victim and {r.dimension for r in about_victim} <= dimensions
    else:
        assert len(about_victim) == len(report.results) // 4


def _exits_within(pid: int, seconds: float) -> bool:
    """Whether ``pid`` is gone now or within ``seconds`` (a bound for a hang, not a synchronisation)."""
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process table from /proc")
async def test_cancelling_a_run_leaves_no_tool_process_and_a_rerun_is_right(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    for index in range(scaled(30)):
        (root / f"m{index}.py").write_text(f"import os\nx{index} = {index}\n")
    spawned: list[int] = []
    first_spawn = asyncio.Event()
    real_spawn = tool_process._spawn

    async def watched_spawn(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        process = await real_spawn(*args, **kwargs)
        spawned.append(process.pid)
        first_spawn.set()
        return process

    monkeypatch.setattr(tool_process, "_spawn", watched_spawn)
    cache_dir = tmp_path / "cache"
    with _orchestrator(root, cache_dir) as run:
        task = asyncio.ensure_future(run.run())
        await asyncio.wait_for(first_spawn.wait(), RUN_TIMEOUT)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # An orphan would live on; a killed process may still be exiting (see the report).
        assert spawned and [pid for pid in spawned if not _exits_within(pid, 5.0)] == []
        assert run.cache is not None and run.cache.flights.in_flight() == 0
        rerun = await asyncio.wait_for(run.run(), RUN_TIMEOUT)
    monkeypatch.undo()
    assert _results(rerun) == await _fresh(root)
    assert [pid for pid in spawned if _alive(pid)] == []


class HangingValidator(Validator):
    """Runs a real tool process that never finishes; only the run's timeout ends it."""

    dimension: ClassVar[str] = "hang"
    version: ClassVar[str] = "1"
    pids: ClassVar[list[int]] = []

    @cached_validation(dimension="hang")
    async def validate(self) -> ValidationResult:
        completed = await tool_process.run(
            [sys.executable, "-c", "import os, time; print(os.getpid(), flush=True); time.sleep(3600)"],
            timeout=3600,
        )
        return ValidationResult("hang", True, [], str(self.file_path), duration_s=len(completed.stdout))


async def test_a_hanging_validator_is_killed_at_its_timeout_and_never_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    spawned: list[int] = []
    real_spawn = tool_process._spawn

    async def watched_spawn(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        process = await real_spawn(*args, **kwargs)
        spawned.append(process.pid)
        return process

    monkeypatch.setattr(tool_process, "_spawn", watched_spawn)
    with _orchestrator(root, tmp_path / "cache", config={"timeout": 0.5}, validators=[HangingValidator]) as run:
        first = await asyncio.wait_for(run.run(), RUN_TIMEOUT)
        second = await asyncio.wait_for(run.run(), RUN_TIMEOUT)
        entries = run.cache_stats()["entries"]
    for report in (first, second):
        (result,) = report.results
        assert result.error is not None and "timed out" in result.error
        assert result.passed is False and result.cached is False
    assert entries == 0
    assert len(spawned) == 2 and not any(_alive(pid) for pid in spawned)
