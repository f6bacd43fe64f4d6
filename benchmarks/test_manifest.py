"""M1-M5. The run manifest: an unchanged tree in one pass, a changed one in time for what changed.

Every side is a process, as a user starts it, measured round by round beside the others:

- M1. Warm ``memo run .`` over an unchanged tree (answered from its manifest) beside
  ``ruff check --no-cache .``, the fastest bare tool, on the stdlib subset and on a
  generated tree (3k files quick, 20k full). Goal: no slower (<= 1.0).
- M2. The same warm run beside the floor: an interpreter that stats every file
  (``_stat_floor.py``). Goal: within 2x.
- M3. (Full form.) The same at 100k generated files, with the warm run's peak RSS.
  Goals: within 2x of the floor, under 150 MB.
- M4. One file edited: ``memo run .`` beside (the warm unchanged run + the bare tools on
  that file). Goal: 1.1.
- M5. 1% of the files edited: ``memo run .`` beside (the warm unchanged run + the
  changed files' checks alone, ``memo run --no-cache FILES``). Goal: 1.2.

Every memo side must have been answered as claimed (``VALIDATION_CACHE_MANIFEST_TRACE``):
from the manifest alone for M1-M3, by the changed files' checks for M4-M5; the check
counts (files, hits, misses) are asserted. Guards are regression bounds about twice
the loaded figure: M1 2x on the stdlib subset (0.5-0.6; an idle ``ruff`` is faster,
so more room) and 4x on the generated tree (1.7-2.0), M2 6x (1.5-3.1), M3 4x (1.8 by
hand), M4 4x (1.2-2.0), M5 2x (0.9-1.0).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks._corpus import generate_tree, wait_out_racy_window
from benchmarks._harness import side_by_side
from benchmarks._ratios import Ratio, median, paired_ratio
from benchmarks._runs import Process, memo_command, run_measured
from benchmarks.conftest import Corpus, Sizes
from benchmarks.test_command import _bare_tools, _console_script

STAT_FLOOR = Path(__file__).resolve().parent / "_stat_floor.py"
DIMENSIONS = "syntax,lint,format,security,complexity"
CHECKS_PER_FILE = len(DIMENSIONS.split(","))
ROUNDS_EDITED = 4
SUMMARY = re.compile(r"(\d+) files?, (\d+) dimensions?, .* (\d+) cache hits?, (\d+) miss(?:es)?")


def _memo(root: Path, cache: Path, *extra: str) -> tuple[Process, str, tuple[int, int, int]]:
    """``memo run .`` in ``root`` (or ``extra``): the process, how it was answered, (files, hits, misses).

    The text report, every finding and the summary line, as ``ruff check`` prints its own.
    """
    env = {key: value for key, value in os.environ.items() if key != "VALIDATION_CACHE_MANIFEST"}
    env["VALIDATION_CACHE_MANIFEST_TRACE"] = "1"
    argv = [*memo_command(), "run", *(extra or (".",)), "--cache-dir", str(cache), "--dimension", DIMENSIONS]
    cwd = os.getcwd()
    os.chdir(root)
    try:
        done = run_measured(argv, env=env)
    finally:
        os.chdir(cwd)
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode in (0, 1), stderr[-2000:]
    how = next((line.split(":")[2].strip() for line in stderr.splitlines() if line.startswith("memo: manifest:")), "")
    found = SUMMARY.search(done.stdout.decode(errors="replace") + stderr)
    counts = (int(found[1]), int(found[3]), int(found[4])) if found else (0, 0, 0)
    return done, how, counts


def _ruff(root: Path) -> Callable[[], None]:
    ruff = _console_script("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")

    def run() -> None:
        done = run_measured([ruff, "check", "--no-cache", str(root)])
        assert done.returncode in (0, 1, 2), done.stderr.decode(errors="replace")

    return run


def _floor(root: Path) -> Callable[[], None]:
    def run() -> None:
        done = run_measured([sys.executable, str(STAT_FLOOR), str(root)])
        assert done.returncode == 0, done.stderr.decode(errors="replace")

    return run


def _primed(root: Path, cache: Path, files: int) -> None:
    """A cold run (the checks), then a run that must be the manifest's, every check counted."""
    _memo(root, cache)
    _, how, counts = _memo(root, cache)
    if how != "manifest":  # a file the cold run saw settle during it is read once more
        _, how, counts = _memo(root, cache)
    assert how == "manifest" and counts == (files, files * CHECKS_PER_FILE, 0), (how, counts)


def _unchanged_rows(
    benchmark: Any,
    root: Path,
    cache: Path,
    files: int,
    label: str,
    rounds: int,
    record: Callable[[Ratio], Ratio],
    against_ruff: float,
) -> dict[str, list[float]]:
    """M1 and M2 on one tree; ``against_ruff`` is M1's guard there."""
    _primed(root, cache, files)
    answered: list[tuple[str, tuple[int, int, int]]] = []

    def warm() -> None:
        _, how, counts = _memo(root, cache)
        answered.append((how, counts))

    times = side_by_side(benchmark, ("memo_warm", warm), {"ruff": _ruff(root), "floor": _floor(root)}, rounds=rounds)
    assert len(answered) == rounds
    unchanged = (files, files * CHECKS_PER_FILE, 0)
    assert all(how == "manifest" and counts == unchanged for how, counts in answered), answered
    detail = (
        f"memo run {median(times['memo_warm']) * 1e3:.0f} ms, ruff check --no-cache "
        f"{median(times['ruff']) * 1e3:.0f} ms, floor {median(times['floor']) * 1e3:.0f} ms; {answered[0][1][1]} checks"
    )
    record(
        Ratio(
            "M1",
            f"warm `memo run .` (manifest) / `ruff check --no-cache .`, {label}",
            paired_ratio(times["memo_warm"], times["ruff"]),
            goal=1.0,
            guard=against_ruff,
            better="lower",
            detail=detail,
        )
    )
    record(
        Ratio(
            "M2",
            f"warm `memo run .` (manifest) / python start + stat of every file, {label}",
            paired_ratio(times["memo_warm"], times["floor"]),
            goal=2.0,
            guard=6.0,
            better="lower",
            detail=detail,
        )
    )
    return times


def test_an_unchanged_stdlib_subset_is_answered_from_the_manifest(
    benchmark: Any, stdlib_subset: Corpus, sizes: Sizes, tmp_path: Path, record: Callable[[Ratio], Ratio]
) -> None:
    files = stdlib_subset.validated
    label = f"{files}-file stdlib subset"
    _unchanged_rows(benchmark, stdlib_subset.root, tmp_path / "cache", files, label, 7, record, 2.0)


def test_an_unchanged_generated_tree_is_answered_from_the_manifest(
    benchmark: Any, sizes: Sizes, tmp_path: Path, record: Callable[[Ratio], Ratio]
) -> None:
    count = 20_000 if sizes.mode == "full" else 3_000
    root = tmp_path / "tree"
    wait_out_racy_window(generate_tree(root, count))
    _unchanged_rows(benchmark, root, tmp_path / "cache", count, f"{count:,} generated files", 5, record, 4.0)


@pytest.mark.skipif("os.environ.get('MEMO_BENCH', '').lower() != 'full' and '--memo-full' not in sys.argv")
def test_a_hundred_thousand_unchanged_files_in_one_pass(
    benchmark: Any, tmp_path: Path, record: Callable[[Ratio], Ratio]
) -> None:
    count = 100_000
    root = tmp_path / "tree"
    wait_out_racy_window(generate_tree(root, count))
    cache = tmp_path / "cache"
    _primed(root, cache, count)
    peaks: list[float] = []

    def warm() -> None:
        done, how, counts = _memo(root, cache)
        assert how == "manifest" and counts == (count, count * CHECKS_PER_FILE, 0), (how, counts)
        peaks.append(done.peak_mb)

    times = side_by_side(benchmark, ("memo_warm", warm), {"floor": _floor(root)}, rounds=3)
    record(
        Ratio(
            "M3",
            f"warm `memo run .` (manifest) / stat floor, {count:,} files",
            paired_ratio(times["memo_warm"], times["floor"]),
            goal=2.0,
            guard=4.0,
            better="lower",
            detail=f"memo run {median(times['memo_warm']):.2f} s, floor {median(times['floor']):.2f} s",
        )
    )
    record(
        Ratio(
            "M3b",
            f"peak RSS of warm `memo run .` (manifest), {count:,} files (MB)",
            max(peaks),
            goal=150.0,
            guard=300.0,
            better="lower",
        )
    )


def _edited(
    benchmark: Any, corpus: Corpus, tmp_path: Path, paths: list[Path], beside: tuple[str, Callable[[], None]]
) -> dict[str, list[float]]:
    """Round by round: edit ``paths``, ``memo run .`` (which must run only their checks), ``beside``, a warm run."""
    root, cache = corpus.root, tmp_path / "cache"
    _primed(root, cache, corpus.validated)
    originals = {path: path.read_bytes() for path in paths}
    edits = 0
    answered: list[tuple[str, tuple[int, int, int]]] = []

    def edit() -> None:
        nonlocal edits
        edits += 1
        for path in paths:
            with open(path, "a", encoding="utf-8") as out:
                out.write(f"# benchmark edit {edits}\n")

    def edited() -> None:
        _, how, counts = _memo(root, cache)
        answered.append((how, counts))

    def warm() -> None:
        _, how, _counts = _memo(root, cache)
        assert how == "manifest"

    try:
        times = side_by_side(
            benchmark, ("warm", warm), {"edited": edited, beside[0]: beside[1]}, rounds=ROUNDS_EDITED, before_round=edit
        )
    finally:
        for path, data in originals.items():
            path.write_bytes(data)
    files, checks = corpus.validated, CHECKS_PER_FILE * len(paths)
    assert len(answered) == ROUNDS_EDITED
    expected = (files, files * CHECKS_PER_FILE - checks, checks)
    assert all(how == "partly" and counts == expected for how, counts in answered), (expected, answered)
    return times


def test_one_edited_file_costs_its_own_checks(
    benchmark: Any, stdlib_subset: Corpus, tmp_path: Path, record: Callable[[Ratio], Ratio]
) -> None:
    files = stdlib_subset.files
    one = files[len(files) // 2]
    bare = _bare_tools(one, tmp_path / "bandit.json")

    def bare_one() -> None:
        for argv in bare:
            assert run_measured(argv).returncode in (0, 1, 2)

    times = _edited(benchmark, stdlib_subset, tmp_path, [one], ("bare", bare_one))
    record(
        Ratio(
            "M4",
            f"one file edited: `memo run .` / (warm + bare tools on it), {len(files)} files",
            paired_ratio(times["edited"], [w + b for w, b in zip(times["warm"], times["bare"], strict=True)]),
            goal=1.1,
            guard=4.0,
            better="lower",
            detail=f"edited {median(times['edited']):.2f} s, warm {median(times['warm']):.2f} s, "
            f"bare tools on the file {median(times['bare']):.2f} s",
        )
    )


def test_one_percent_edited_costs_their_own_checks(
    benchmark: Any, stdlib_subset: Corpus, tmp_path: Path, record: Callable[[Ratio], Ratio]
) -> None:
    files = stdlib_subset.files
    count = max(1, len(files) // 100)
    several = files[:: len(files) // count][:count]

    def alone() -> None:
        _memo(stdlib_subset.root, tmp_path / "alone-cache", "--no-cache", *(str(path) for path in several))

    times = _edited(benchmark, stdlib_subset, tmp_path, several, ("alone", alone))
    record(
        Ratio(
            "M5",
            f"{count} of {len(files)} files edited: `memo run .` / (warm + their checks alone)",
            paired_ratio(times["edited"], [w + a for w, a in zip(times["warm"], times["alone"], strict=True)]),
            goal=1.2,
            guard=2.0,
            better="lower",
            detail=f"edited {median(times['edited']):.2f} s, warm {median(times['warm']):.2f} s, "
            f"their checks alone {median(times['alone']):.2f} s",
        )
    )
