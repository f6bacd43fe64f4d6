"""``jobs`` (``--jobs``) is parallelism: how many tool processes run at once, not a batch size."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from memo.engine import Engine, default_jobs
from memo.validators import FormatValidator, LintValidator, _parallelism, _pool, _process
from memo.validators._process import cores
from tests.helpers import write


class ProcessCounter:
    """Wraps ``_process._spawn``: how many tool processes started, and the most alive at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = self.alive = self.peak = 0
        real = _process._spawn

        async def spawn(argv: Sequence[str], cwd: str | None) -> asyncio.subprocess.Process:
            process = await real(argv, cwd)
            self.started += 1
            self.alive += 1
            self.peak = max(self.peak, self.alive)
            communicate = process.communicate

            async def counted(*args: Any, **kwargs: Any) -> tuple[bytes, bytes]:
                try:
                    return await communicate(*args, **kwargs)
                finally:
                    self.alive -= 1  # before the slot is given back

            process.communicate = counted  # type: ignore[method-assign]
            return process

        monkeypatch.setattr(_process, "_spawn", spawn)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for number in range(40):
        write(tmp_path / "tree" / f"m{number:02}.py", f"import os\n\nVALUE = {number}\n")
    return tmp_path / "tree"


@pytest.mark.parametrize("jobs", [1, 2])
async def test_jobs_bounds_the_tool_processes_alive_at_once(
    tree: Path, jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = ProcessCounter(monkeypatch)
    report = await Engine(tree, {}, [LintValidator, FormatValidator], jobs=jobs, use_cache=False).run()
    assert report.findings == 40  # one unused import per file: every file was checked
    assert 1 <= counter.peak <= jobs


async def test_one_job_still_checks_files_in_batches(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--jobs 1`` once meant one check in flight: one tool process per file, many times slower."""
    counter = ProcessCounter(monkeypatch)
    report = await Engine(tree, {}, [LintValidator, FormatValidator], jobs=1, use_cache=False).run()
    assert len(report.results) == 80
    assert counter.started <= 4  # 40 files x 2 validators in a few batches, not 80 processes


def test_the_default_is_one_job_per_core(tree: Path) -> None:
    assert default_jobs() == cores()
    assert Engine(tree, {}, [LintValidator], use_cache=False).jobs == cores()


def test_parallelism_is_set_for_a_block_and_restored() -> None:
    assert _parallelism.parallelism() == cores()
    with _parallelism.limited_to(1):
        assert _parallelism.parallelism() == 1
        assert _pool.workers() == 1
        assert _parallelism.scaled(2 * cores()) == 2
        with _parallelism.limited_to(None):
            assert _parallelism.parallelism() == cores()
    assert _parallelism.parallelism() == cores()


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2"])
def test_parallelism_rejects_what_is_not_a_positive_int(bad: Any) -> None:
    with pytest.raises(ValueError, match="positive integer"), _parallelism.limited_to(bad):
        pass  # pragma: no cover - never reached
