"""How validators drive their tools: missing tools, timeouts, crashes, cancellation, batching, caching.

Tool processes are observed through ``memo.validators._process._spawn`` (wrapped to record
every process started) and pool work through ``memo.validators._pool.run_in_pool``; fake
tools are tiny Python scripts in ``tmp_path`` swapped in through ``_tools.find_tool``.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from memo import ValidationCache, bind_cache, validator_identity
from memo.validators import (
    REGISTRY,
    ComplexityValidator,
    FormatValidator,
    LintValidator,
    SecurityValidator,
    SyntaxValidator,
    TypesValidator,
    _pool,
    _process,
    _tools,
)

FIXTURES = Path(__file__).parent / "fixtures" / "validators"
SUBPROCESS_VALIDATORS = [LintValidator, FormatValidator, SecurityValidator]
POOL_VALIDATORS = [SyntaxValidator, ComplexityValidator]


class Spawned:
    """Records every tool process started, and signals when one has started."""

    def __init__(self) -> None:
        self.processes: list[asyncio.subprocess.Process] = []
        self.argvs: list[list[str]] = []
        self.started = asyncio.Event()


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> Spawned:
    record = Spawned()
    real_spawn = _process._spawn

    async def spawn(argv: Sequence[str], cwd: str | None) -> asyncio.subprocess.Process:
        process = await real_spawn(argv, cwd)
        record.processes.append(process)
        record.argvs.append(list(argv))
        record.started.set()
        return process

    monkeypatch.setattr(_process, "_spawn", spawn)
    return record


@pytest.fixture
def pool_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every pool task, or in-process task standing in for one (``_pool.run_checks``)."""
    calls: list[Any] = []
    real = _pool.run_checks

    async def counting(func: Any, arg: Any, paths: Sequence[str], timeout: float) -> Any:
        calls.append(arg)
        return await real(func, arg, paths, timeout)

    monkeypatch.setattr(_pool, "run_checks", counting)
    return calls


def fake_tool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, script: str) -> _tools.Tool:
    """Make ``find_tool(name)`` return a Python script standing in for the real tool."""
    path = tmp_path / f"fake_{name}.py"
    path.write_text(script, encoding="utf-8")
    tool = _tools.Tool(name, (sys.executable, str(path)), "fake-1")
    real = _tools.find_tool
    monkeypatch.setattr(_tools, "find_tool", lambda wanted: tool if wanted == name else real(wanted))
    return tool


def files(tmp_path: Path, count: int) -> list[Path]:
    paths = []
    for number in range(count):
        path = tmp_path / "src" / f"mod{number}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"import os\n\nVALUE = {number}\nassert VALUE\n", encoding="utf-8")
        paths.append(path)
    return paths


def assert_gone(process: asyncio.subprocess.Process) -> None:
    """Killed by us (SIGKILL), reaped, and no longer in the process table."""
    assert process.returncode == -signal.SIGKILL
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)


# -- missing tools -------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [*SUBPROCESS_VALIDATORS, ComplexityValidator], ids=lambda c: c.dimension)
async def test_missing_tool_gives_a_skipped_result(cls: type[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tools, "find_tool", lambda name: None)
    result = await cls(FIXTURES / "clean.py").validate()
    assert result.error == f"skipped: {cls.tool} is not installed"
    assert result.passed and not result.cached


async def test_missing_mypy_gives_a_skipped_project_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tools, "find_tool", lambda name: None)
    result = await TypesValidator(None, root=FIXTURES).validate()
    assert result.error == "skipped: mypy is not installed"


async def test_skipped_result_is_not_cached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_tools, "find_tool", lambda name: None)
    with bind_cache(ValidationCache(tmp_path / "cache")) as binding:
        await LintValidator(FIXTURES / "clean.py").validate()
        assert binding.cache is not None and binding.cache.stats()["sets"] == 0


def test_a_tool_not_on_path_is_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert _tools.find_tool.__wrapped__("memo-no-such-tool") is None


def test_installed_tools_are_found_with_their_package_versions() -> None:
    for name in ("ruff", "bandit", "radon", "mypy"):
        tool = _tools.find_tool(name)
        assert tool is not None and tool.version == importlib.metadata.version(name)


# -- identity --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [*SUBPROCESS_VALIDATORS, ComplexityValidator], ids=lambda c: c.dimension)
def test_tool_version_is_in_the_identity(cls: type[Any]) -> None:
    assert f"+{cls.tool} {importlib.metadata.version(cls.tool)}" in validator_identity(cls("a.py"))


async def test_upgrading_the_tool_misses_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = files(tmp_path, 1)[0]
    with bind_cache(ValidationCache(tmp_path / "cache")):
        await LintValidator(path).validate()
        assert (await LintValidator(path).validate()).cached
        real = _tools.find_tool("ruff")
        assert real is not None
        upgraded = _tools.Tool("ruff", real.argv, real.version + ".post1")
        monkeypatch.setattr(_tools, "find_tool", lambda name: upgraded if name == "ruff" else None)
        assert not (await LintValidator(path).validate()).cached


# -- timeouts, crashes, cancellation ---------------------------------------------------------

SLEEPER = "import time\ntime.sleep(600)\n"


@pytest.mark.parametrize("cls", SUBPROCESS_VALIDATORS, ids=lambda c: c.dimension)
async def test_timeout_kills_the_tool_and_gives_an_error_result(
    cls: type[Any], spawned: Spawned, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_tool(monkeypatch, tmp_path, cls.tool, SLEEPER)
    result = await cls(FIXTURES / "clean.py", {cls.dimension: {"timeout": 0.2}}).validate()
    assert result.error is not None and "timed out after 0.2 s" in result.error
    assert not result.passed
    [process] = spawned.processes
    assert_gone(process)


async def test_timed_out_result_is_not_cached(
    spawned: Spawned, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_tool(monkeypatch, tmp_path, "ruff", SLEEPER)
    with bind_cache(ValidationCache(tmp_path / "cache")):
        for _ in range(2):
            result = await LintValidator(FIXTURES / "clean.py", {"lint": {"timeout": 0.1}}).validate()
            assert result.error is not None and not result.cached
    assert len(spawned.processes) == 2


async def test_types_timeout_kills_mypy(spawned: Spawned, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_tool(monkeypatch, tmp_path, "mypy", SLEEPER)
    result = await TypesValidator(None, {"types": {"timeout": 0.2}}, root=tmp_path).validate()
    assert result.error is not None and "timed out" in result.error
    [process] = spawned.processes
    assert_gone(process)


async def test_cancelling_the_validation_kills_the_tool(
    spawned: Spawned, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_tool(monkeypatch, tmp_path, "bandit", SLEEPER)
    task = asyncio.create_task(SecurityValidator(FIXTURES / "clean.py").validate())
    await spawned.started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [process] = spawned.processes
    # The kill is sent as the cancellation unwinds; wait_for only bounds a broken test.
    await asyncio.wait_for(process.wait(), 30)
    assert_gone(process)


async def test_a_crashing_tool_gives_an_error_with_its_message(
    spawned: Spawned, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_tool(monkeypatch, tmp_path, "ruff", "import sys\nsys.stderr.write('boom: internal error')\nsys.exit(101)\n")
    with bind_cache(ValidationCache(tmp_path / "cache")):
        result = await LintValidator(FIXTURES / "clean.py").validate()
        assert result.error == "ruff failed (exit status 101): boom: internal error"
        assert not (await LintValidator(FIXTURES / "clean.py").validate()).cached
    assert len(spawned.processes) == 2


async def test_garbage_output_is_an_error_not_a_clean_pass(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_tool(monkeypatch, tmp_path, "bandit", "print('not json')\n")
    result = await SecurityValidator(FIXTURES / "insecure.py").validate()
    assert result.error is not None and "bandit failed (exit status 0): not json" in result.error
    assert not result.passed


async def test_malformed_tool_output_is_an_error_result_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = FIXTURES / "clean.py"
    entry = f'{{"filename": "{path}", "location": {{"row": "first", "column": 1}}, "code": "X1", "message": "m"}}'
    fake_tool(monkeypatch, tmp_path, "ruff", f"print({'[' + entry + ']'!r})\nraise SystemExit(1)\n")
    result = await LintValidator(path).validate()
    assert result.error is not None and result.error.startswith("lint failed: ValueError")


async def test_output_about_a_file_it_was_not_given_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    entry = '{"filename": "/elsewhere/other.py", "location": {"row": 1, "column": 1}, "code": "X1", "message": "m"}'
    fake_tool(monkeypatch, tmp_path, "ruff", f"print({'[' + entry + ']'!r})\nraise SystemExit(1)\n")
    result = await LintValidator(FIXTURES / "clean.py").validate()
    assert result.error is not None and "ruff reported a file it was not given" in result.error


async def test_a_tool_that_cannot_start_gives_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tool = _tools.Tool("ruff", (str(tmp_path / "no-such-binary"),), "1")
    monkeypatch.setattr(_tools, "find_tool", lambda name: tool)
    result = await FormatValidator(FIXTURES / "clean.py").validate()
    assert result.error is not None and result.error.startswith("could not start no-such-binary")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("timeout", 0, "config [lint] option 'timeout' must be a positive number of seconds, not 0"),
        ("select", "", "config [lint] option 'select' must be a list of non-empty strings, not ['']"),
        ("line_length", "long", "config [lint] option 'line_length' must be an integer >= 1, not 'long'"),
        ("target_version", "--fix", "config [lint] option 'target_version' must be a non-empty string, not '--fix'"),
    ],
)
async def test_a_bad_option_is_a_clear_error_result(option: str, value: object, message: str) -> None:
    result = await LintValidator(FIXTURES / "clean.py", {"lint": {option: value}}).validate()
    assert result.error == message


async def test_an_unknown_rule_code_is_ruffs_error_message() -> None:
    result = await LintValidator(FIXTURES / "clean.py", {"lint": {"select": ["NOPE123"]}}).validate()
    assert result.error is not None and result.error.startswith("ruff failed (exit status 2)")
    assert "NOPE123" in result.error


# -- batching --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", SUBPROCESS_VALIDATORS, ids=lambda c: c.dimension)
async def test_concurrent_misses_share_one_tool_process(cls: type[Any], spawned: Spawned, tmp_path: Path) -> None:
    paths = files(tmp_path, 8)
    results = await asyncio.gather(*(cls(path).validate() for path in paths))
    assert len(spawned.processes) == 1
    assert sorted(arg for arg in spawned.argvs[0] if arg.endswith(".py")) == sorted(str(p) for p in paths)
    for path, result in zip(paths, results, strict=True):
        assert result.file_path == str(path)
        assert all(finding.path == str(path) for finding in result.findings)


async def test_each_file_in_a_batch_gets_its_own_findings(spawned: Spawned, tmp_path: Path) -> None:
    clean, dirty = tmp_path / "clean.py", tmp_path / "dirty.py"
    clean.write_text("VALUE = 1\n", encoding="utf-8")
    dirty.write_text("import os\nimport sys\n", encoding="utf-8")
    first, second = await asyncio.gather(LintValidator(clean).validate(), LintValidator(dirty).validate())
    assert len(spawned.processes) == 1
    assert first.passed and first.findings == []
    assert [(f.line, f.code) for f in second.findings] == [(1, "F401"), (2, "F401")]


async def test_a_large_batch_is_split_across_cores(spawned: Spawned, tmp_path: Path) -> None:
    paths = files(tmp_path, 2 * SecurityValidator.min_chunk)
    results = await asyncio.gather(*(SecurityValidator(path).validate() for path in paths))
    assert len(spawned.processes) == min(2, SecurityValidator.max_chunks)
    assert all([f.code for f in result.findings] == ["B101"] for result in results)


async def test_different_options_never_share_a_batch(spawned: Spawned, tmp_path: Path) -> None:
    path = files(tmp_path, 1)[0]
    default, skipping = await asyncio.gather(
        SecurityValidator(path).validate(),
        SecurityValidator(path, {"security": {"skip": ["B101"]}}).validate(),
    )
    assert len(spawned.processes) == 2
    assert [f.code for f in default.findings] == ["B101"] and skipping.findings == []


@pytest.mark.parametrize("cls", POOL_VALIDATORS, ids=lambda c: c.dimension)
async def test_concurrent_misses_share_one_pool_task(cls: type[Any], pool_calls: list[Any], tmp_path: Path) -> None:
    paths = files(tmp_path, 8)
    results = await asyncio.gather(*(cls(path).validate() for path in paths))
    assert len(pool_calls) == 1
    assert all(
        result.error is None and result.file_path == str(path) for path, result in zip(paths, results, strict=True)
    )


# -- caching ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dimension", sorted(REGISTRY.keys() - {"types"}))
async def test_a_cached_second_run_does_not_run_the_tool(
    dimension: str, spawned: Spawned, pool_calls: list[Any], tmp_path: Path
) -> None:
    paths = files(tmp_path, 4)
    cls = REGISTRY[dimension]
    with bind_cache(ValidationCache(tmp_path / "cache"), root=tmp_path):
        first = await asyncio.gather(*(cls(path).validate() for path in paths))
        work = len(spawned.processes) + len(pool_calls)
        assert work == 1
        second = await asyncio.gather(*(cls(path).validate() for path in paths))
    assert len(spawned.processes) + len(pool_calls) == work
    assert all(result.cached for result in second)
    assert [r.findings for r in first] == [r.findings for r in second]


async def test_an_edited_file_is_checked_again(spawned: Spawned, tmp_path: Path) -> None:
    path = files(tmp_path, 1)[0]
    with bind_cache(ValidationCache(tmp_path / "cache")):
        assert [f.code for f in (await LintValidator(path).validate()).findings] == ["F401"]
        path.write_text("VALUE = 2\n", encoding="utf-8")
        again = await LintValidator(path).validate()
    assert not again.cached and again.passed
    assert len(spawned.processes) == 2


# -- the process pool ------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.islink("/proc/self"), reason="needs Linux /proc")
async def test_work_runs_in_another_process() -> None:
    # /proc/self names the process that reads it.
    worker_pid = int(await _pool.run_in_pool(os.readlink, "/proc/self", 60))
    assert worker_pid != os.getpid()


async def test_a_dead_worker_is_an_error_and_the_pool_recovers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pool, "IN_PROCESS_FILES", 0)  # the check below goes to the pool
    with pytest.raises(_process.ToolError, match="worker process died"):
        await _pool.run_in_pool(os._exit, 3, 60)
    result = await SyntaxValidator(FIXTURES / "syntax_error.py").validate()
    assert result.error is None and [f.code for f in result.findings] == ["syntax-error"]


async def test_pool_workers_leave_ctrl_c_to_memo() -> None:
    # Ctrl-C reaches the whole process group; memo kills its workers, which must not print tracebacks.
    assert await _pool.run_in_pool(signal.getsignal, signal.SIGINT, 60) == signal.SIG_IGN


# -- what an interrupted or killed memo leaves behind ----------------------------------------

PDEATHSIG_REPORTER = """
import ctypes
value = ctypes.c_int()
ctypes.CDLL(None).prctl(2, ctypes.byref(value), 0, 0, 0)  # PR_GET_PDEATHSIG
print(value.value)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
async def test_a_tool_process_is_killed_when_memo_dies() -> None:
    completed = await _process.run([sys.executable, "-c", PDEATHSIG_REPORTER], timeout=60)
    assert completed.stdout.decode().strip() == str(int(signal.SIGKILL))


async def test_running_tools_are_listed_for_a_kill_until_reaped(spawned: Spawned) -> None:
    run = asyncio.create_task(_process.run([sys.executable, "-c", "import time; time.sleep(120)"], timeout=60))
    await spawned.started.wait()
    [process] = spawned.processes
    for _ in range(100):  # listed as soon as run() resumes after _spawn: a few loop turns
        if process.pid in _process.running_groups():
            break
        await asyncio.sleep(0)
    assert process.pid in _process.running_groups()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert process.pid not in _process.running_groups()
    assert_gone(process)
