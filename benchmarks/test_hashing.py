"""3d (beside goal 3). Hashing: every standard-library file through memo's hashing, beside a bare loop.

The bare loop reads each file whole and digests it with ``xxhash.xxh3_128``, the least
any content-keyed cache must do. memo's side is a fresh ``HashMemo`` per round (so every
file is really read, nothing remembered), which also stats the file before and after
and refuses what is not a regular file. Goal: at least 0.8 of the bare loop's throughput.
The files are read in place (hashing modifies nothing), after one untimed read so both
sides find them in the page cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import xxhash

from benchmarks._corpus import stdlib_files, stdlib_root
from benchmarks._harness import side_by_side
from benchmarks._ratios import Ratio, median, paired_ratio
from benchmarks.conftest import Sizes
from memo import HASH_ALGORITHM, HashMemo


def test_hashing_keeps_at_least_45_percent_of_a_bare_read_and_hash_loop(
    benchmark: Any, sizes: Sizes, record: Callable[[Ratio], Ratio]
) -> None:
    assert HASH_ALGORITHM == "xxh3_128", "the [fast] extra (xxhash) is needed for a like-for-like comparison"
    root = stdlib_root()
    paths = [str(root / relative) for relative in stdlib_files()]
    assert paths, f"no .py file under {root}"
    total_bytes = 0
    for path in paths:
        with open(path, "rb") as handle:
            total_bytes += len(handle.read())
    digests: dict[str, list[str]] = {"memo": [], "bare": []}

    def memo_hashing() -> None:
        memo = HashMemo()
        digests["memo"] = [memo.stamp(path).digest for path in paths]

    def bare_loop() -> None:
        out = []
        for path in paths:
            with open(path, "rb") as handle:
                out.append(xxhash.xxh3_128(handle.read()).hexdigest())
        digests["bare"] = out

    times = side_by_side(benchmark, ("memo", memo_hashing), {"bare": bare_loop}, rounds=sizes.hash_rounds)
    assert len(digests["memo"]) == len(paths)
    assert digests["memo"] == [f"xxh3_128:{digest}" for digest in digests["bare"]]

    throughput = {side: total_bytes / median(values) / 1e6 for side, values in times.items()}
    record(
        Ratio(
            "3d",
            "hashing throughput: memo / bare read+xxh3",
            paired_ratio(times["bare"], times["memo"]),
            goal=0.8,
            guard=0.45,
            better="higher",
            detail=f"{len(paths)} files, {total_bytes / 1e6:.0f} MB; "
            + ", ".join(f"{side} {mbs:.0f} MB/s" for side, mbs in throughput.items()),
            sides=throughput,
        )
    )
