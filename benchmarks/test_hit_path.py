"""3. The hit path: one cache hit through ``@cached_validation`` beside a bare diskcache get.

Every side serves the same standard-library files from a warm cache, each in a loop on
one event loop. memo's hit does more than the bare get (a ``stat``, a content-keyed
key, a JSON decode into a ``ValidationResult``); the goal is at most 2x the bare get,
not met yet. The guard, 7x, is about twice what a loaded machine measures (3.2-3.3x):
it catches a hit path that starts doing real work (a read, a second query), not a busy
neighbour. The peers' guards are likewise about twice their figures (0.3 against
cashews, measured 0.09-0.15; 2.5 against aiocache, measured 0.80-1.28).
Beside it, two caches a user might pick instead, through their own decorators: cashews
on its disk backend and aiocache in memory. They key on the path alone (they know
nothing of content), which only flatters them; the goal is for memo to be faster still.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import diskcache
from aiocache import Cache as AioCache
from aiocache import cached as aio_cached
from cashews import Cache as CashewsCache

from benchmarks._harness import side_by_side
from benchmarks._ratios import Ratio, median, paired_ratio
from benchmarks._validator import CompileValidator, compile_check
from benchmarks.conftest import Corpus, Sizes
from memo import ValidationCache, ValidationResult, bind_cache, plan_call

PASSES = 10
"""Each round serves every file this many times, so a round lasts tens of milliseconds."""


def test_hit_stays_within_7x_of_a_bare_diskcache_get_and_beats_cashews_on_disk(
    benchmark: Any, stdlib_subset: Corpus, sizes: Sizes, tmp_path: Path, record: Callable[[Ratio], Ratio]
) -> None:
    loop = asyncio.new_event_loop()
    cache = ValidationCache(tmp_path / "memo")
    peers = CashewsCache()
    peers.setup(f"disk://?directory={tmp_path / 'cashews'}&shards=0")

    @peers(ttl="1d", key="compile:{path}")
    async def cashews_check(path: str) -> ValidationResult:
        return compile_check(path)

    @aio_cached(ttl=86400, cache=AioCache.MEMORY, key_builder=lambda _fn, path: f"compile:{path}")
    async def aiocache_check(path: str) -> ValidationResult:
        return compile_check(path)

    paths = [str(p) for p in stdlib_subset.files]
    validators = [CompileValidator(p, root=stdlib_subset.root) for p in paths]
    with bind_cache(cache, config={}, root=stdlib_subset.root):
        keys = [plan.key for plan in (plan_call(v, "compile") for v in validators) if plan is not None]
        assert len(keys) == len(paths)

        def run(make: Callable[[], Coroutine[Any, Any, object]]) -> Callable[[], object]:
            return lambda: loop.run_until_complete(make())

        async def memo_hits() -> None:
            for _ in range(PASSES):
                for validator in validators:
                    await validator.validate()

        async def bare_gets() -> None:
            get = bare.get
            for _ in range(PASSES):
                for key in keys:
                    get(key)

        async def cashews_hits() -> None:
            for _ in range(PASSES):
                for path in paths:
                    await cashews_check(path)

        async def aiocache_hits() -> None:
            for _ in range(PASSES):
                for path in paths:
                    await aiocache_check(path)

        async def fill() -> None:
            await asyncio.gather(*(v.validate() for v in validators))

        # Fill every cache, then prove what follows is hits only.
        before = CompileValidator.calls
        loop.run_until_complete(fill())
        # memo's own database, read with a plain Cache. Opened only now: memo refuses a
        # database in its directory that it did not make (no CACHEDIR.TAG), so a bare
        # Cache opened first would leave memo validating without its cache.
        bare = diskcache.Cache(str(tmp_path / "memo"))
        loop.run_until_complete(cashews_hits())
        loop.run_until_complete(aiocache_hits())
        filled = CompileValidator.calls
        assert filled - before == len(paths), "the fill did not run every file's check once"
        assert all(isinstance(bare.get(key), bytes) for key in keys)
        times = side_by_side(
            benchmark,
            ("memo", run(memo_hits)),
            {
                "bare_diskcache": run(bare_gets),
                "cashews_disk": run(cashews_hits),
                "aiocache_memory": run(aiocache_hits),
            },
            rounds=sizes.hit_rounds,
        )
        assert CompileValidator.calls == filled, "a timed call missed the cache"
        counted = cache.stats()
        assert (counted["hits"], counted["misses"]) == (len(paths) * PASSES * sizes.hit_rounds, len(paths))
    bare.close()
    cache.close()
    loop.run_until_complete(peers.close())
    loop.close()

    hits = len(paths) * PASSES
    per_hit = {side: median(values) / hits * 1e6 for side, values in times.items()}
    detail = ", ".join(f"{side} {us:.1f} us" for side, us in per_hit.items())
    benchmark.extra_info["per_hit_us"] = per_hit
    record(
        Ratio(
            "3",
            "hit: memo / bare diskcache get",
            paired_ratio(times["memo"], times["bare_diskcache"]),
            goal=2.0,
            guard=7.0,
            better="lower",
            detail=detail,
            sides=per_hit,
        )
    )
    record(
        Ratio(
            "3b",
            "hit: memo / cashews (disk)",
            paired_ratio(times["memo"], times["cashews_disk"]),
            goal=1.0,
            guard=0.3,
            better="lower",
        )
    )
    record(
        Ratio(
            "3c",
            "hit: memo / aiocache (memory)",
            paired_ratio(times["memo"], times["aiocache_memory"]),
            goal=1.0,
            guard=2.5,
            better="lower",
        )
    )
