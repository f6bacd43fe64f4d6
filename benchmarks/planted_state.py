"""Planted state against a real run: peak memory with oversized shared values, run time with far-future leases.

Not a test (no ``test_`` prefix): a script whose figures go into the issue's note and
benchmarks/README. Usage, from the repository root:

    python benchmarks/planted_state.py values   # 32 values of 8 MiB planted in Redis
    python benchmarks/planted_state.py leases   # far-future leases of another host planted locally

``values``: a first run fills a real redis-server (read-write) with a small tree's
entries; 32 of them are then replaced by 8 MiB of junk under the same keys; a second
run with an empty local cache is measured (its peak RSS, from
``/usr/bin/time -f %M``). ``leases``: a run fills a cache directory's
leases database with leases of another host expiring in a day, its entries are
cleared, and the next run is timed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from memo.signing import generate

FILES = 32
PLANTED = 8 * 2**20


def tree(root: Path) -> None:
    for n in range(FILES):
        path = root / "pkg" / f"m{n:02d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"import os\n\n\ndef f{n}(x):\n    return x + {n}\n")


def run(root: Path, cache: Path, env: dict[str, str]) -> tuple[float, int, dict[str, object]]:
    """Seconds, the run's peak RSS in KiB (``/usr/bin/time -f %M``), and its JSON report."""
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        start = time.perf_counter()
        timed = ["/usr/bin/time", "-f", "%M", "-o", rss.name, sys.executable, "-m", "memo", "run", str(root)]
        done = subprocess.run(
            [*timed, "--format", "json", "--cache-dir", str(cache)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        peak = int(Path(rss.name).read_text().split()[-1])
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr)
    return elapsed, peak, json.loads(done.stdout)


def values(work: Path) -> None:
    import redis

    socket = work / "redis.sock"
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(socket), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(unix_socket_path=str(socket))
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        writer_key = generate()[0]
        env = {**os.environ, "VALIDATION_CACHE_REMOTE": f"unix://{socket}", "VALIDATION_CACHE_SIGNING_KEY": writer_key}
        root = work / "src"
        tree(root)
        run(root, work / "fill", env)
        elapsed, peak, _ = run(root, work / "clean", env)
        print(f"nothing planted: run {elapsed:.2f} s, peak RSS {peak / 1024:.0f} MiB")
        keys = sorted(client.scan_iter(match="memo:v1:e:*"))[:32]
        for key in keys:
            client.set(key, b"x" * PLANTED)
        elapsed, peak, report = run(root, work / "empty", env)
        summary = report["summary"]
        mib = PLANTED // 2**20
        print(f"planted {len(keys)} values of {mib} MiB: run {elapsed:.2f} s, peak RSS {peak / 1024:.0f} MiB")
        print(json.dumps({k: summary[k] for k in sorted(summary) if "cache" in k or "remote" in k}))
    finally:
        server.terminate()
        server.wait()


def leases(work: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("VALIDATION_CACHE_REMOTE",)}
    root = work / "src"
    tree(root)
    cache = work / "cache"
    from memo.store import DiskStore

    run(root, cache, env)
    results = DiskStore(cache)
    keys = [key for key, _ in results.sizes()]
    results.clear()
    results.close()
    elapsed, _, _ = run(root, cache, env)
    print(f"nothing planted: run {elapsed:.2f} s")
    results = DiskStore(cache)
    results.clear()
    results.close()
    leases_db = cache / "leases" / "cache.db"
    with sqlite3.connect(leases_db) as con:
        for key in keys:
            lease = json.dumps(["another-host", "boot", 4242, "1", "token", time.time() + 86400]).encode()
            con.execute(
                "INSERT OR REPLACE INTO Cache (key, raw, store_time, expire_time, access_time, access_count,"
                " tag, size, mode, filename, value) VALUES (?, 1, ?, NULL, ?, 0, NULL, 0, 1, NULL, ?)",
                (key, time.time(), time.time(), lease),
            )
    con.close()
    elapsed, _, _ = run(root, cache, env)
    print(f"planted {len(keys)} leases of another host expiring in a day: run {elapsed:.2f} s")


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "values"
    work = Path(tempfile.mkdtemp(prefix="memo-planted-"))
    try:
        {"values": values, "leases": leases}[what](work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
