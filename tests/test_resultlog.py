"""The run's result log: clean results kept compactly, given back exactly, in both orders."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from memo import Finding, ValidationResult
from memo.cli.formats import sorted_results
from memo.engine import Engine, Report
from memo.engine.resultlog import ResultLog
from memo.validators import SyntaxValidator


def _clean(dimension: str, path: Path, cached: bool, duration: float) -> ValidationResult:
    return ValidationResult(dimension, True, [], os.fspath(path), None, duration, cached)


def test_every_result_comes_back_equal_in_check_order(tmp_path: Path) -> None:
    paths = [tmp_path / name for name in ("b.py", "a.py", "c.py")]
    log = ResultLog([(0, "lint", paths), (3, "syntax", paths)], total=6)
    finding = Finding(os.fspath(paths[1]), 3, 1, "F401", "unused", "error")
    recorded = [
        _clean("lint", paths[0], True, 0.25),
        ValidationResult("lint", False, [finding], os.fspath(paths[1]), cached=True),
        ValidationResult("lint", False, [], os.fspath(paths[2]), error="ruff crashed"),
        _clean("syntax", paths[0], False, 1.5),
        ValidationResult.skipped("syntax", paths[1], "python is not installed"),
        _clean("syntax", paths[2], True, 0.0),
    ]
    for index in (3, 0, 5, 1, 4, 2):  # results arrive in any order
        log.record(index, recorded[index])

    assert list(log) == recorded
    assert len(log) == 6
    assert log[0] == recorded[0] and log[-1] == recorded[-1] and log[1:3] == recorded[1:3]
    assert list(log.notable()) == [recorded[1], recorded[2], recorded[4]]
    assert (log.findings, log.hits, log.errors, log.skipped, log.all_passed) == (1, 3, 1, 1, False)


def test_a_check_without_a_result_is_left_out(tmp_path: Path) -> None:
    paths = [tmp_path / "a.py", tmp_path / "b.py"]
    log = ResultLog([(0, "lint", paths)], total=2)
    log.record(1, _clean("lint", paths[1], True, 0.1))

    assert list(log) == [_clean("lint", paths[1], True, 0.1)]
    assert list(log.ordered()) == [_clean("lint", paths[1], True, 0.1)]


def test_ordered_is_by_file_text_then_dimension_even_where_path_order_differs(tmp_path: Path) -> None:
    # Path order puts "pkg/mod.py" before "pkg.py"; text order ("." < "/") puts it after.
    paths = sorted([tmp_path / "pkg.py", tmp_path / "pkg" / "mod.py", tmp_path / "a-b.py", tmp_path / "a" / "x.py"])
    log = ResultLog([(0, "syntax", paths), (4, "lint", paths)], total=8)
    results = [_clean("syntax", p, True, 0.0) for p in paths] + [_clean("lint", p, True, 0.0) for p in paths]
    results[5] = ValidationResult("lint", False, [Finding(os.fspath(paths[1]), 1, 1, "E1", "m")], os.fspath(paths[1]))
    for index, result in enumerate(results):
        log.record(index, result)

    assert list(log.ordered()) == sorted_results(results)


def test_a_result_about_another_file_still_sorts_by_its_own_file(tmp_path: Path) -> None:
    paths = [tmp_path / "a.py", tmp_path / "b.py"]
    log = ResultLog([(0, "lint", paths)], total=2)
    elsewhere = ValidationResult("lint", False, [], os.fspath(tmp_path / "z.py"), error="moved")
    log.record(0, elsewhere)
    log.record(1, _clean("lint", paths[1], False, 0.0))

    assert list(log.ordered()) == [_clean("lint", paths[1], False, 0.0), elsewhere]


def test_a_warm_run_keeps_no_result_object_per_clean_check(tmp_path: Path) -> None:
    for number in range(300):
        (tmp_path / f"m{number:03d}.py").write_text(f"X = {number}\n")
    with Engine(tmp_path, validators=[SyntaxValidator], cache_dir=tmp_path / ".cache") as engine:
        engine.run_sync()
        report = engine.run_sync()
        gc.collect()
        alive = sum(isinstance(thing, ValidationResult) for thing in gc.get_objects())

    assert report.hits == 300 and report.passed
    assert alive < 30  # 300 clean results, none of them held as an object
    assert [r.file_path for r in report.ordered()] == sorted(os.fspath(tmp_path / f"m{n:03d}.py") for n in range(300))
    assert all(r.cached and r.passed and not r.findings for r in report.results)


def test_a_passing_result_with_odd_field_values_is_kept_as_given(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    log = ResultLog([(0, "lint", [path, path, path])], total=3)
    odd = [
        ValidationResult("lint", True, [], os.fspath(path), None, None, False),  # type: ignore[arg-type]
        ValidationResult("lint", True, [], os.fspath(path), None, 7, False),  # type: ignore[arg-type]
        ValidationResult("lint", 1, [], os.fspath(path), None, 0.5, 1),  # type: ignore[arg-type]
    ]
    for index, result in enumerate(odd):
        log.record(index, result)

    back = list(log)
    assert back == odd
    assert [type(r.duration_s) for r in back] == [type(None), int, float]
    assert back[2].cached == 1 and type(back[2].cached) is int


def test_a_skip_counts_as_notable_in_a_report_of_a_plain_list(tmp_path: Path) -> None:
    skipped = ValidationResult("lint", True, file_path=str(tmp_path / "a.py"), skip_reason="ruff is not installed")
    clean = _clean("lint", tmp_path / "b.py", True, 0.0)
    report = Report([clean, skipped], files=2, dimension_names=("lint",), wall_time_s=0.0, root=tmp_path)

    assert list(report.notable()) == [skipped]
