"""Every test gets its own default cache directory and local key: the real home is never touched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memo import reset_default_cache

TEST_TIMEOUT_S = 300
"""No single test should come near this; a hang fails with a traceback instead of stalling CI."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))


@pytest.fixture(scope="session", autouse=True)
def _stop_pool_workers() -> Iterator[None]:
    """Stop the validators' worker pool at the end of the session, not in exit hooks."""
    yield
    from memo import validators

    validators.shutdown_workers()


@pytest.fixture(autouse=True)
def _isolated_default_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("VALIDATION_CACHE_DIR", str(tmp_path / "default-cache"))
    # The local key file (memo.localauth) too: never the real ~/.config/memo/local.key.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("VALIDATION_CACHE_LOCAL_KEY", raising=False)
    monkeypatch.delenv("VALIDATION_CACHE_ENABLED", raising=False)
    reset_default_cache()
    yield
    reset_default_cache()
