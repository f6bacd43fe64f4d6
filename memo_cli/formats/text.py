"""The text report: ``path:line:col code message [dimension]`` per finding, then one summary line."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from memo import Finding, ValidationResult
from memo.cli.formats import sorted_results
from memo.engine import Report


def _display(path: str | None, cwd: Path) -> str:
    """``path`` relative to ``cwd`` when it is under it, as a user would type it."""
    if not path:
        return "."
    try:
        return str(Path(path).relative_to(cwd))
    except ValueError:
        return path


def _count(number: int, word: str, plural: str | None = None) -> str:
    return f"{number} {word if number == 1 else plural or word + 's'}"


def summary_line(report: Report) -> str:
    """``PASSED: 12 files, 5 dimensions, 0 findings, ...``: the last line of the text report."""
    parts = [
        _count(report.files, "file"),
        _count(report.dimensions, "dimension"),
        _count(report.findings, "finding"),
        _count(report.errors, "error"),
    ]
    if report.skipped:
        parts.append(f"{report.skipped} skipped")
    parts += [_count(report.hits, "cache hit"), _count(report.misses, "miss", "misses"), f"{report.wall_time_s:.2f}s"]
    return f"{'PASSED' if report.passed else 'FAILED'}: {', '.join(parts)}"


def to_text(report: Report, cwd: Path | None = None, *, summary: bool = True) -> str:
    """Findings and errors grouped by file (``path:line:col code message``), skips, then the summary."""
    cwd = Path.cwd() if cwd is None else cwd
    notable = list(report.notable())  # a clean result prints nothing
    by_file, skipped = _grouped(notable)
    shared = _shared_errors(notable)
    lines = [line for file_path, results in by_file.items() for line in _file_lines(file_path, results, cwd, shared)]
    lines += [f"{dimension} error on {_count(count, 'file')}: {error}" for (dimension, error), count in shared.items()]
    lines += [
        f"skipped {dimension} on {_count(count, 'file')}: {reason}"
        for (dimension, reason), count in sorted(skipped.items())
    ]
    if summary:
        lines.append(summary_line(report))
    return "".join(f"{line}\n" for line in lines)


def _grouped(
    results: list[ValidationResult],
) -> tuple[dict[str, list[ValidationResult]], dict[tuple[str, str], int]]:
    """The results that ran, by file in report order; and how many were skipped, per dimension and reason."""
    skipped: dict[tuple[str, str], int] = defaultdict(int)
    by_file: dict[str, list[ValidationResult]] = defaultdict(list)
    for result in sorted_results(results):
        if result.skip_reason is not None:
            skipped[(result.dimension, result.skip_reason)] += 1
        else:
            by_file[result.file_path or ""].append(result)
    return by_file, skipped


def _shared_errors(results: list[ValidationResult]) -> dict[tuple[str, str], int]:
    """Errors that more than one file got word for word (a broken tool config), and on how many files.

    Such an error is printed once with its count, as the tool itself prints it once,
    rather than once per file.
    """
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for result in results:
        if result.error is not None and result.skip_reason is None and result.file_path is not None:
            counts[(result.dimension, result.error)] += 1
    return {error: count for error, count in sorted(counts.items()) if count > 1}


def _file_lines(
    file_path: str, results: list[ValidationResult], cwd: Path, shared: dict[tuple[str, str], int]
) -> list[str]:
    """One file's errors and findings, by line and column (errors shared with other files are left out)."""
    shown = _display(file_path, cwd)
    rows: list[tuple[int, int, str]] = []
    for result in results:
        if result.error is not None and (result.dimension, result.error) not in shared:
            rows.append((0, 0, f"{shown}: {result.dimension} error: {result.error}"))
        rows.extend(
            (finding.line, finding.column, _finding_line(finding, result.dimension, shown, file_path, cwd))
            for finding in result.findings
        )
    return [text for _, _, text in sorted(rows, key=lambda row: (row[0], row[1]))]


def _finding_line(finding: Finding, dimension: str, shown: str, file_path: str, cwd: Path) -> str:
    where = shown if finding.path == file_path else _display(finding.path, cwd)
    if finding.cell is not None:
        where = f"{where}:cell {finding.cell}"  # as ruff prints a notebook's location
    return f"{where}:{finding.line}:{finding.column} {finding.code} {finding.message} [{dimension}]"
