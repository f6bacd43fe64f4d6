"""Whether a local lease's holder still runs, told in-process from ``/proc`` (``memo.locallease``).

The multi-process tests in ``test_local_lease.py`` prove the behaviour end to end; these
pin each rule of ``process_gone``, ``_process_stat`` and ``decode_lease`` on real
processes (live, zombie, reaped, reused pid, a name full of parentheses and non-ASCII).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from memo.locallease import Holder, _process_stat, decode_lease, encode_lease, lease_is_free, process_gone, this_process

STAT = re.compile(r"^\d+ \((?P<name>.*)\) (?P<state>\S) (?:\S+ ){18}(?P<start>\d+) ", re.DOTALL)
"""``/proc/<pid>/stat``, as proc(5) lays it out: the name is everything up to the last ")"."""


def expected_stat(pid: int) -> tuple[str, str]:
    match = STAT.match(Path(f"/proc/{pid}/stat").read_text(errors="replace"))
    assert match is not None
    return match["state"], match["start"]


@pytest.fixture
def child(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A live process named with spaces, parentheses and a non-ASCII letter; it exits when its stdin closes."""
    odd = tmp_path / "\u0115) x (y) z"
    odd.symlink_to(os.path.realpath(sys.executable))  # the kernel names a process after the path it was started by
    process = subprocess.Popen(
        [str(odd), "-c", "import sys; print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"  # started, under its name
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def holder_of(pid: int) -> Holder:
    me = this_process()
    stat = _process_stat(pid)
    assert stat is not None
    return Holder(me.host, me.boot, pid, stat[1])


def test_the_state_and_start_time_are_read_after_the_last_parenthesis_of_the_name(
    child: subprocess.Popen[bytes],
) -> None:
    assert ")" in Path(f"/proc/{child.pid}/comm").read_text(errors="replace")
    assert _process_stat(child.pid) == expected_stat(child.pid)
    assert _process_stat(os.getpid()) == expected_stat(os.getpid())
    assert this_process().start == expected_stat(os.getpid())[1]


def test_a_live_holder_is_not_gone_and_is_not_signalled(child: subprocess.Popen[bytes]) -> None:
    holder = holder_of(child.pid)
    assert not process_gone(holder)
    assert not process_gone(replace(holder, start=""))  # start time unknown: alive while the pid runs
    assert child.stdin is not None
    child.stdin.close()
    assert child.wait() == 0  # ended by its stdin closing, not by a signal from the liveness check


def test_a_holder_whose_pid_runs_another_process_is_gone(child: subprocess.Popen[bytes]) -> None:
    holder = holder_of(child.pid)
    assert process_gone(replace(holder, start=str(int(holder.start) + 1)))  # the pid was reused


def test_a_zombie_holder_is_gone(child: subprocess.Popen[bytes]) -> None:
    holder = holder_of(child.pid)
    child.kill()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, still unreaped: a zombie
    assert expected_stat(child.pid)[0] == "Z"
    assert process_gone(holder)


def test_a_holder_killed_and_reaped_is_gone(child: subprocess.Popen[bytes]) -> None:
    holder = holder_of(child.pid)
    child.kill()
    child.wait()
    assert not Path(f"/proc/{child.pid}").exists()
    assert process_gone(holder)


def test_a_holder_of_another_boot_is_gone_and_one_of_another_host_cannot_be_told() -> None:
    me = this_process()
    assert me.boot  # Linux: /proc/sys/kernel/random/boot_id
    assert process_gone(replace(me, boot="another-boot"))
    assert not process_gone(replace(me, host="another-host", pid=2**22 + 1))  # no such pid here, but not ours to tell
    assert not process_gone(me)


def test_a_lease_whose_expiry_is_now_is_free() -> None:
    lease = encode_lease(Holder("another-host", "b", 1, "1"), "t", 1e9)
    assert lease_is_free(lease, 1e9)
    assert not lease_is_free(lease, 1e9 - 1)


@pytest.mark.parametrize(
    "fields",
    [
        [1, "b", 7, "s", "t", 1e9],
        ["h", 1, 7, "s", "t", 1e9],
        ["h", "b", "7", "s", "t", 1e9],
        ["h", "b", 7.0, "s", "t", 1e9],
        ["h", "b", True, "s", "t", 1e9],
        ["h", "b", 0, "s", "t", 1e9],
        ["h", "b", -7, "s", "t", 1e9],
        ["h", "b", 7, 1, "t", 1e9],
        ["h", "b", 7, "s", 1, 1e9],
        ["h", "b", 7, "s", "t", "1e9"],
        ["h", "b", 7, "s", "t", None],
        ["h", "b", 7, "s", "t"],
        ["h", "b", 7, "s", "t", 1e9, "extra"],
        {"host": "h"},
    ],
)
def test_a_lease_with_any_field_of_the_wrong_type_or_range_is_malformed(fields: object) -> None:
    assert decode_lease(json.dumps(fields).encode()) is None
    assert lease_is_free(json.dumps(fields).encode(), 0.0)


def test_a_lease_round_trips_through_its_bytes() -> None:
    holder = Holder("h", "b", 7, "s")
    assert decode_lease(encode_lease(holder, "t", 5)) == (holder, "t", 5.0)
