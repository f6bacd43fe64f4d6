"""Progress: files finish one after another, and the bar on a terminal shows it happening."""

from __future__ import annotations

import fcntl
import itertools
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import ClassVar

from memo import ValidationCache, ValidationResult, cached_validation
from memo.engine import Engine, Progress
from memo.engine.schedule import Tracker, plan
from memo.validators import Validator
from tests.helpers import write


class First(Validator):
    dimension: ClassVar[str] = "first"

    @cached_validation(dimension="first")
    async def validate(self) -> ValidationResult:
        return ValidationResult(self.dimension, passed=True, file_path=self.file_path)


class Second(Validator):
    dimension: ClassVar[str] = "second"

    @cached_validation(dimension="second")
    async def validate(self) -> ValidationResult:
        return ValidationResult(self.dimension, passed=True, file_path=self.file_path)


class ProjectWide(Validator):
    dimension: ClassVar[str] = "project"
    per_file: ClassVar[bool] = False


def test_tracker_counts_a_file_once_every_check_of_it_is_done() -> None:
    files = [Path("a.py"), Path("b.py"), Path("c.py")]
    seen: list[Progress] = []
    lanes = plan([ProjectWide, First, Second], files)
    tracker = Tracker(lanes, seen.append)
    checks = {(check.validator, check.file_path): check for lane in lanes for check in lane}
    order = [(ProjectWide, None)] + [(cls, path) for path in files for cls in (First, Second)]
    for key in order:
        tracker.done(checks[key], ValidationResult(key[0].dimension, passed=True, cached=key[1] == files[0]))
    assert [(p.files_done, p.checks_done) for p in seen] == [(0, 1), (0, 2), (1, 3), (1, 4), (2, 5), (2, 6), (3, 7)]
    assert {(p.files_total, p.checks_total) for p in seen} == {(3, 7)}
    assert [p.hits for p in seen] == [0, 1, 2, 2, 2, 2, 2]


async def test_a_warm_run_finishes_files_as_it_goes_not_validator_by_validator(tmp_path: Path) -> None:
    """Cache hits never suspend: without a turn for every lane, no file finished until the last lane ran."""
    for number in range(300):
        write(tmp_path / "tree" / f"m{number:03}.py", f"VALUE = {number}\n")
    cache = ValidationCache(tmp_path / "cache")
    await Engine(tmp_path / "tree", {}, [First, Second], cache, jobs=1).run()
    seen: list[Progress] = []
    report = await Engine(tmp_path / "tree", {}, [First, Second], cache, jobs=1, progress=seen.append).run()
    cache.close()
    assert report.hits == 600
    halfway = next(p for p in seen if p.checks_done == 300)
    assert halfway.files_done >= 300 // 4, halfway
    assert [p.checks_done for p in seen] == list(range(1, 601))
    assert all(later.files_done - earlier.files_done <= 1 for earlier, later in itertools.pairwise(seen))


# -- the bar on a real terminal ------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def screens(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run ``python -m memo ARGS`` on a pseudo-terminal; its exit status and everything it drew."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "memo", *args],
        cwd=cwd,
        env=env,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
    )
    os.close(follower)
    drawn = bytearray()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    status = process.wait(timeout=60)
    return status, _ANSI.sub("", drawn.decode("utf-8", "replace"))


def shown(drawn: str, total: int) -> tuple[set[int], set[int]]:
    """The file counts (of ``total``) and the percentages the bar showed."""
    counts = set()
    percents = set()
    for match in re.finditer(r"(\d+)% +(\d+)/(\d+) files", drawn):
        percent, done, shown_total = map(int, match.groups())
        assert shown_total == total, match.group(0)
        counts.add(done)
        percents.add(percent)
    return counts, percents


def test_the_bar_on_a_terminal_counts_files_and_moves_as_checks_finish(tmp_path: Path) -> None:
    total = 150
    for number in range(total):
        body = "\n\n".join(
            f"def f{i}(x: int) -> int:\n    if x > {i}:\n        return x\n    return {i}\n" for i in range(8)
        )
        write(tmp_path / "tree" / f"pkg{number % 5}" / f"m{number:03}.py", body)
    env = {
        **{key: value for key, value in os.environ.items() if key != "VALIDATION_CACHE_ENABLED"},
        "VALIDATION_CACHE_DIR": str(tmp_path / "cache"),
        "TERM": "xterm-256color",
    }
    env.pop("NO_COLOR", None)
    status, drawn = screens(["run", "tree"], tmp_path, env)
    assert status == 0, drawn[-2000:]
    assert f"PASSED: {total} files" in drawn
    before_summary = drawn.split("PASSED")[0]
    assert "checks" not in before_summary and "cache" not in before_summary  # one unit: files
    counts, percents = shown(drawn, total)
    assert 0 in counts and len(counts - {0, total}) >= 1, sorted(counts)  # files finish before the end
    assert len(percents - {0, 100}) >= 3, sorted(percents)  # and the bar moves in between
