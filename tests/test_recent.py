"""``memo.recent.Recent``: the most recently set keys, between ``size`` and twice as many."""

from __future__ import annotations

import pytest

from memo.recent import Recent


def test_the_most_recent_keys_are_kept_and_the_oldest_forgotten() -> None:
    recent: Recent[int, str] = Recent(100)
    for number in range(1000):
        recent[number] = f"v{number}"

    assert 100 <= len(recent) <= 200
    assert all(recent.get(number) == f"v{number}" for number in range(900, 1000))
    assert recent.get(0) is None and 0 not in recent
    assert list(recent) == sorted(recent)  # oldest first


def test_a_key_set_again_is_one_entry_with_its_new_value() -> None:
    recent: Recent[str, int] = Recent(2)
    recent["a"] = 1
    recent["b"] = 2
    recent["c"] = 3  # "a" and "b" are now the old generation
    recent["a"] = 4

    assert recent.get("a") == 4
    assert len(recent) == 3
    assert recent.pop("a") == 4 and "a" not in recent
    assert recent.pop("missing", -1) == -1


def test_clear_forgets_everything() -> None:
    recent: Recent[str, int] = Recent(1)
    recent["a"], recent["b"] = 1, 2
    recent.clear()
    assert len(recent) == 0 and recent.get("a", 0) == 0


def test_a_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Recent(0)
