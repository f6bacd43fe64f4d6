"""A pytest plugin (entry point ``pytest11``) giving each test an isolated, bound cache.

Use the ``memo_cache`` fixture in a test, or in a pytest-benchmark test of your own
validator, to measure it cold against warm without touching your real cache::

    async def test_my_validator_warm(memo_cache): ...

``examples/test_benchmark_my_validator.py`` is a complete, working example: cold and
warm rounds side by side, the ratio asserted, the warm rounds kept by pytest-benchmark.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memo.binding import bind_cache
from memo.cache import ValidationCache


@pytest.fixture
def memo_cache(tmp_path: Path) -> Iterator[ValidationCache]:
    """A ``ValidationCache`` on ``tmp_path``, bound for this test; closed afterwards."""
    with ValidationCache(tmp_path / "memo-cache") as cache, bind_cache(cache):
        yield cache
