"""The ratio table: every figure of the suite is a ratio of two sides measured in one run.

Absolute times on a shared machine prove little; a ratio of two workloads measured
round by round, side by side, holds up under noise. Each ratio has a goal (what the
project aims for, reported in the table) and a guard (what the test asserts): a
regression bound about twice the figure measured on a loaded machine, in the row's
direction (half of it where higher is better), so that a real slowdown fails and a busy
neighbour does not. A guard that the figure could not cross in practice proves nothing,
so none is looser than that. Each row also asserts the check counts it knows (checks
run, served from a cache), so a row that silently measured nothing fails.
``guard=None`` (reported only) remains possible but no row uses it.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class Ratio:
    """One measured ratio with its goal and the bound the suite asserts."""

    item: str
    """Which measure of the issue this is (1-7), for the table's order."""
    name: str
    value: float
    goal: float
    guard: float | None
    """What the suite asserts; None: reported only (the figure depends on machine load)."""
    better: Better
    detail: str = ""
    sides: dict[str, float] = field(default_factory=dict)
    """Median seconds (or MB) of each side, for the record."""

    def meets(self, bound: float) -> bool:
        return self.value >= bound if self.better == "higher" else self.value <= bound

    @property
    def asserted(self) -> bool:
        return self.guard is None or self.meets(self.guard)

    @property
    def status(self) -> str:
        if self.meets(self.goal):
            return "met"
        if self.guard is None:
            return "not met (reported)"
        return "guard only" if self.meets(self.guard) else "FAILED"


class RatioBook:
    """The ratios recorded in one session, printed as a table and written as JSON at the end."""

    def __init__(self) -> None:
        self.ratios: list[Ratio] = []

    def record(self, ratio: Ratio) -> Ratio:
        self.ratios.append(ratio)
        return ratio

    def table(self) -> list[str]:
        rows = [("#", "measure", "figure", "goal", "asserted", "status", "detail")]
        for r in sorted(self.ratios, key=lambda r: r.item):
            sign = ">=" if r.better == "higher" else "<="
            guard = "reported" if r.guard is None else f"{sign} {_fmt(r.guard)}"
            rows.append((r.item, r.name, _fmt(r.value), f"{sign} {_fmt(r.goal)}", guard, r.status, r.detail))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return lines

    def write_json(self, path: Path, mode: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "mode": mode,
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine(),
            "ratios": [asdict(r) | {"status": r.status} for r in self.ratios],
        }
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def machine() -> str:
    """Architecture, cores, system and Python: what a reader needs to weigh the figures."""
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float:
    """Median over rounds of numerator/denominator: each round's sides ran back to back."""
    return statistics.median(n / d for n, d in zip(numerator, denominator, strict=True))


def timed(func: Callable[[], object]) -> float:
    """Seconds ``func()`` took."""
    started = time.perf_counter()
    func()
    return time.perf_counter() - started
