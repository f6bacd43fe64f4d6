"""Ctrl-C and SIGTERM end a cold run at once, in one line, leaving no process; a SIGKILLed memo leaves none either.

Each test runs the real command (``python -m memo run``) over a tree big enough that a
cold run lasts many seconds, in a session of its own, and waits until a tool process
and the pool's workers are at work before it sends the signal. The exit bound here is
generous for a loaded machine; the two-second goal is measured by the loop in the
README's Reliability section.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads the process table from /proc")

EXIT_BOUND_S = 10.0
START_BOUND_S = 120.0
GONE_BOUND_S = 5.0
TREE_FILES = 150
TOOLS = ("ruff", "bandit")


def _tree(root: Path) -> Path:
    """Copies of the largest standard library modules: a cold run of them takes many seconds."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    sources = sorted(stdlib.glob("*.py"), key=lambda path: path.stat().st_size, reverse=True)[:TREE_FILES]
    tree = root / "tree"
    tree.mkdir()
    for source in sources:
        shutil.copyfile(source, tree / source.name)
    return tree


Entry = tuple[int, int, int, str]
"""A live process: (parent pid, session id, start time in clock ticks, command line)."""


def _processes() -> dict[int, Entry]:
    """Every process that has not exited (zombies are left out: they run nothing, hold nothing)."""
    table: dict[int, Entry] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if fields[0] != b"Z":
            table[int(name)] = (int(fields[1]), int(fields[4]), int(fields[19]), command)
    return table


def _descendants(root: int) -> dict[int, Entry]:
    table = _processes()
    found: dict[int, Entry] = {}
    pending = [root]
    while pending:
        parent = pending.pop()
        for pid, entry in table.items():
            if entry[0] == parent and pid not in found:
                found[pid] = entry
                pending.append(pid)
    return found


def _still_alive(snapshot: dict[int, Entry]) -> list[str]:
    """The processes of ``snapshot`` still running (the same pid and start time)."""
    now = _processes()
    return [entry[3] for pid, entry in snapshot.items() if pid in now and now[pid][2] == entry[2]]


def _in_session(session: int) -> list[str]:
    return [entry[3] for entry in _processes().values() if entry[1] == session]


def _start(tmp_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "memo", "run", str(_tree(tmp_path)), "--cache-dir", str(tmp_path / "cache")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _working(memo: subprocess.Popen[bytes]) -> dict[int, Entry]:
    """Wait until memo runs a tool process and pool workers; then its descendants."""
    deadline = time.monotonic() + START_BOUND_S
    while time.monotonic() < deadline:
        assert memo.poll() is None, "the run ended before it could be interrupted"
        found = _descendants(memo.pid)
        commands = [entry[3] for entry in found.values()]
        tool = any(f"-m {name} " in command or f"/{name} " in command for command in commands for name in TOOLS)
        workers = sum("multiprocessing.forkserver" in command for command in commands)
        if tool and workers >= 2:  # the forkserver and at least one worker forked from it
            return found
        time.sleep(0.02)
    raise AssertionError("memo never started its tools and workers")


def _stop(memo: subprocess.Popen[bytes]) -> None:
    """Kill whatever is left in memo's session: orphans holding its output would block ``communicate``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(memo.pid, signal.SIGKILL)
    memo.communicate()


@pytest.mark.parametrize("to_group", [False, True], ids=["pid", "group"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_cold_run_exits_at_once_in_one_line_leaving_no_process(
    tmp_path: Path, signum: int, to_group: bool
) -> None:
    memo = _start(tmp_path)
    try:
        children = _working(memo)
        (os.killpg if to_group else os.kill)(memo.pid, signum)
        _, stderr = memo.communicate(timeout=EXIT_BOUND_S)
    finally:
        _stop(memo)
    assert memo.returncode == 128 + signum
    assert stderr.decode() == "memo: interrupted\n"
    # communicate() returned: nothing holds memo's output any more. Tools run in sessions
    # of their own, so they are looked up by pid as well as by session.
    assert _in_session(memo.pid) == []
    assert _still_alive(children) == []


def test_a_sigkilled_memo_leaves_no_worker_or_tool_running(tmp_path: Path) -> None:
    memo = _start(tmp_path)
    try:
        children = _working(memo)
        memo.kill()
        memo.wait()
        deadline = time.monotonic() + GONE_BOUND_S
        while _still_alive(children) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = _still_alive(children) + _in_session(memo.pid)
    finally:
        _stop(memo)
    assert left == []
