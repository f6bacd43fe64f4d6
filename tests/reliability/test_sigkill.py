"""A writer killed with SIGKILL at random points: the next run opens the cache and reads only whole, right entries."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import diskcache
import pytest

from memo import ValidationCache

from ._support import HERE, PROJECT, record_figure, scaled
from ._writer import expected_result


def _kill_while_writing(cache_dir: Path, prefix: str, after: int) -> set[str]:
    """Start a writer, SIGKILL it once it has stored ``after`` entries; the keys it reported stored."""
    writer = subprocess.Popen(
        [sys.executable, str(HERE / "_writer.py"), str(cache_dir), prefix],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT,
    )
    assert writer.stdout is not None
    stored = set()
    for line in writer.stdout:
        stored.add(f"{prefix}-{line.strip()}")
        if len(stored) >= after:
            break
    writer.send_signal(signal.SIGKILL)  # mid-write: it never stops writing
    writer.wait()
    writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    return stored


def _keys_present(cache_dir: Path) -> list[str]:
    # Keys are stored raw (str); listing them never unpickles anything.
    with diskcache.Cache(str(cache_dir)) as raw:
        return [key for key in raw.iterkeys() if isinstance(key, str)]


@pytest.mark.stress
def test_sigkill_during_writes_leaves_only_whole_right_entries(tmp_path: Path) -> None:
    rng = random.Random(7)
    cache_dir = tmp_path / "cache"
    kills = scaled(12)
    reported: set[str] = set()
    checked = 0
    for round_number in range(kills):
        reported |= _kill_while_writing(cache_dir, f"r{round_number}", after=rng.randint(1, 60))
        with ValidationCache(cache_dir) as cache:
            present = _keys_present(cache_dir)
            assert reported <= set(present)  # every entry acknowledged before the kill survived it
            for key in present:
                result = cache.lookup(key, None)
                assert result is not None, f"entry {key} did not read back"
                expected = expected_result(key)
                assert result.to_dict() == {**expected.to_dict(), "cached": True}
                checked += 1
            stats = cache.stats()
            assert stats["errors"] == stats["rejected"] == 0
    with sqlite3.connect(cache_dir / "cache.db") as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # Value files of entries killed before their row was committed may be left over;
    # they are never read (no row names them), so they cost space, not correctness.
    files = {path.relative_to(cache_dir).as_posix() for path in cache_dir.rglob("*.val")}
    with sqlite3.connect(cache_dir / "cache.db") as con:
        named = {
            row[0].replace(os.sep, "/") for row in con.execute("SELECT filename FROM Cache WHERE filename NOT NULL")
        }
    assert named <= files  # no row names a value file that is missing
    record_figure("sigkill", kills=kills, entries_checked=checked, orphan_value_files=len(files - named), wrong=0)
