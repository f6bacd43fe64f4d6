"""One process of the multi-process load test: many coroutines of mixed cache work on a shared directory.

Usage: ``python _load_worker.py CACHE_DIR SOURCE_DIR WORKER_ID OPS COROUTINES SEED``; prints
one JSON summary line. Every value read back is checked against a fingerprint of its key
(synthetic entries) or of the file's bytes (decorated validation), and any exception that
escapes the memo API is counted, never swallowed silently.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from memo import Finding, ValidationCache, ValidationResult, bind_cache
from tests.reliability._support import fingerprint, fingerprint_validator

API_KEYS = 200
WIDTH = 64


def api_result(key: str) -> ValidationResult:
    """The value stored under a synthetic ``key``: its fingerprint is the key itself."""
    padding = 500 if key.endswith("7") else 0  # some entries go to value files
    findings = [Finding("", 1, 1, "KEY", key)] + [Finding("", n, 1, "P", "x" * 20) for n in range(padding)]
    return ValidationResult("api", True, findings)


class Worker:
    def __init__(self, cache_dir: Path, sources: list[Path], worker_id: int, seed: int) -> None:
        self.cache_dir = cache_dir
        self.sources = sources
        self.worker_id = worker_id
        self.rng = random.Random(seed)
        self.ops: Counter[str] = Counter()
        self.wrong: list[str] = []
        self.escaped: list[str] = []
        self.unverifiable = 0
        self.version = 0
        self.validator = fingerprint_validator()
        self.max_stall = 0.0
        self.slowest: dict[str, float] = {}

    def new_content(self) -> bytes:
        """A version of a file that no process ever wrote before, always ``WIDTH`` bytes long."""
        self.version += 1
        return f"# worker {self.worker_id} version {self.version:010d}\n".ljust(WIDTH - 1).encode() + b"\n"

    async def validate(self, cache: ValidationCache) -> None:
        path = self.rng.choice(self.sources)
        before = path.read_bytes()
        result = await self.validator(path).validate()
        after = path.read_bytes()
        if before != after:
            self.unverifiable += 1  # changed during the call: any version in between was right
        elif result.findings[0].message != fingerprint("fingerprint", before):
            self.wrong.append(f"{path.name}: {result.findings[0].message} for {before!r}")

    async def api(self, cache: ValidationCache) -> None:
        key = f"api-{self.rng.randrange(API_KEYS)}"
        if self.rng.random() < 0.5:
            cache.store(key, api_result(key))
            self.ops["api-set"] += 1
            return
        found = cache.lookup(key, None)
        self.ops["api-get"] += 1
        if found is not None and found.to_dict() != {**api_result(key).to_dict(), "cached": True}:
            self.wrong.append(f"{key}: {found.findings[:1]}")

    def mutate(self) -> None:
        path = self.rng.choice(self.sources)
        content = self.new_content()
        if self.rng.random() < 0.5:
            temporary = path.with_name(f".{path.name}.{self.worker_id}.tmp")
            temporary.write_bytes(content)
            os.replace(temporary, path)  # atomic: a reader sees the old or the new version
        else:
            with open(path, "r+b") as out:  # in place, same length: no empty intermediate version
                out.write(content)

    async def one(self, cache: ValidationCache) -> None:
        roll = self.rng.random()
        before = dict(self.ops)
        started = time.monotonic()
        try:
            if roll < 0.55:
                await self.validate(cache)
                self.ops["validate"] += 1
            elif roll < 0.85:
                await self.api(cache)
            elif roll < 0.94:
                self.mutate()
                self.ops["mutate"] += 1
            elif roll < 0.99:
                cache.invalidate_all()
                self.ops["invalidate_all"] += 1
            else:
                shutil.rmtree(self.cache_dir, ignore_errors=True)  # "clear": the directory itself goes
                self.ops["rmtree"] += 1
        except Exception as exc:
            self.escaped.append(f"{type(exc).__name__}: {exc}")
        kind = next((k for k, v in self.ops.items() if before.get(k) != v), "failed")
        self.slowest[kind] = max(self.slowest.get(kind, 0.0), round(time.monotonic() - started, 3))

    async def coroutine(self, cache: ValidationCache, count: int) -> None:
        for _ in range(count):
            await self.one(cache)
            await asyncio.sleep(0)  # interleave with the other coroutines, as real awaits would

    async def ticker(self, done: asyncio.Event) -> None:
        """Measures the longest the event loop was blocked (reported, not asserted)."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = loop.time()
            self.max_stall = max(self.max_stall, now - last - 0.005)
            last = now

    async def run(self, ops: int, coroutines: int) -> dict[str, Any]:
        with ValidationCache(self.cache_dir, timeout=0.1) as cache, bind_cache(cache):
            done = asyncio.Event()
            ticker = asyncio.ensure_future(self.ticker(done))
            started = time.monotonic()
            await asyncio.gather(*(self.coroutine(cache, ops // coroutines) for _ in range(coroutines)))
            elapsed = time.monotonic() - started
            done.set()
            await ticker
            stats = cache.stats()
        return {
            "worker": self.worker_id,
            "ops": dict(self.ops),
            "wrong": self.wrong,
            "escaped": self.escaped,
            "unverifiable": self.unverifiable,
            "computed": dict(self.validator.runs),
            "hits": stats["hits"],
            "misses": stats["misses"],
            "store_errors": stats["errors"],
            "available": stats["available"],
            "unavailable_reason": stats.get("reason"),
            "elapsed_s": round(elapsed, 3),
            "max_loop_stall_s": round(self.max_stall, 3),
            "slowest_op_s": self.slowest,
        }


def main() -> None:
    cache_dir, source_dir = Path(sys.argv[1]), Path(sys.argv[2])
    worker_id, ops, coroutines, seed = (int(arg) for arg in sys.argv[3:7])
    sources = sorted(source_dir.glob("*.py"))
    summary = asyncio.run(Worker(cache_dir, sources, worker_id, seed).run(ops, coroutines))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
