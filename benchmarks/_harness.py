"""Side-by-side timing on top of pytest-benchmark.

pytest-benchmark times one function per test and keeps its rounds in its JSON. Each of
our tests compares that function (the "primary" side, e.g. memo's warm run) with one
or more other sides (the cold run, a bare ``diskcache`` get). The other sides run in
pytest-benchmark's per-round ``setup``, so in every round each side runs right next to
the primary and a burst of load on the shared machine hits both alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

Side = Callable[[], object]


def side_by_side(
    benchmark: Any,
    primary: tuple[str, Side],
    others: Mapping[str, Side],
    *,
    rounds: int,
    before_round: Callable[[], object] | None = None,
) -> dict[str, list[float]]:
    """Seconds per round of every side: ``others`` in order, then ``primary``, ``rounds`` times."""
    name, func = primary
    times: dict[str, list[float]] = {side: [] for side in others}
    times[name] = []

    def setup() -> None:
        if before_round is not None:
            before_round()
        for side, other in others.items():
            started = time.perf_counter()
            other()
            times[side].append(time.perf_counter() - started)

    def target() -> None:
        started = time.perf_counter()
        func()
        times[name].append(time.perf_counter() - started)

    benchmark.pedantic(target, setup=setup, rounds=rounds, iterations=1, warmup_rounds=0)
    # With --benchmark-disable pytest-benchmark runs one round only; the ratios still need all.
    while len(times[name]) < rounds:
        setup()
        target()
    benchmark.extra_info.update({f"{side}_s": list(values) for side, values in times.items()})
    return times
