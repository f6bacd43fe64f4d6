"""Read a validator's options from its config section, with a clear message for bad values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

OptionCheck = Callable[[Mapping[str, Any], str, str], object]
"""Checks one option: ``(options, dimension, name)``, raising ``OptionError`` for a bad value."""


class OptionError(ValueError):
    """An option in the config has the wrong type or value."""


def _where(dimension: str, name: str) -> str:
    return f"config [{dimension}] option {name!r}"


def string_list(options: Mapping[str, Any], dimension: str, name: str) -> tuple[str, ...]:
    """A list of strings (a single string is taken as a one-item list); empty if absent."""
    value = options.get(name)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and item for item in value):
        raise OptionError(f"{_where(dimension, name)} must be a list of non-empty strings, not {value!r}")
    return tuple(value)


def text(options: Mapping[str, Any], dimension: str, name: str) -> str | None:
    """A non-empty string, or None if absent."""
    value = options.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or value.startswith("-"):
        raise OptionError(f"{_where(dimension, name)} must be a non-empty string, not {value!r}")
    return value


def integer(options: Mapping[str, Any], dimension: str, name: str, default: int | None, minimum: int = 1) -> int | None:
    """An int of at least ``minimum``, or ``default`` if absent."""
    value = options.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise OptionError(f"{_where(dimension, name)} must be an integer >= {minimum}, not {value!r}")
    return value


def choice(options: Mapping[str, Any], dimension: str, name: str, choices: tuple[str, ...]) -> str | None:
    """One of ``choices`` (case-insensitive), or None if absent."""
    value = options.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in choices:
        raise OptionError(f"{_where(dimension, name)} must be one of {', '.join(choices)}, not {value!r}")
    return value.lower()


def flag(options: Mapping[str, Any], dimension: str, name: str, default: bool) -> bool:
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise OptionError(f"{_where(dimension, name)} must be true or false, not {value!r}")
    return value


def timeout(options: Mapping[str, Any], dimension: str, default: float) -> float:
    """The ``timeout`` option in seconds: a positive number."""
    value = options.get("timeout", default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise OptionError(f"{_where(dimension, 'timeout')} must be a positive number of seconds, not {value!r}")
    return float(value)


def check_table(options: Mapping[str, Any], dimension: str, checks: Mapping[str, OptionCheck]) -> None:
    """Every option known and well-formed, or ``OptionError`` for the first that is not.

    A misspelt name is named with the closest known one, so ``max_complexty`` says
    ``did you mean 'max_complexity'?`` instead of being silently ignored.
    """
    for name in options:
        if name not in checks:
            import difflib  # only for a misspelt name: kept off the start-up path

            match = difflib.get_close_matches(name, sorted(checks), n=1, cutoff=0.6)
            hint = f" (did you mean {match[0]!r}?)" if match else f" (known: {', '.join(sorted(checks)) or 'none'})"
            raise OptionError(f"config [{dimension}] has no option {name!r}{hint}")
    for name, check in checks.items():
        check(options, dimension, name)


def integer_check(default: int | None, minimum: int = 1) -> OptionCheck:
    """An ``OptionCheck`` for an integer of at least ``minimum``."""
    return lambda options, dimension, name: integer(options, dimension, name, default, minimum)


def flag_check(default: bool) -> OptionCheck:
    """An ``OptionCheck`` for true or false."""
    return lambda options, dimension, name: flag(options, dimension, name, default)


def choice_check(choices: tuple[str, ...]) -> OptionCheck:
    """An ``OptionCheck`` for one of ``choices``."""
    return lambda options, dimension, name: choice(options, dimension, name, choices)


def timeout_check(options: Mapping[str, Any], dimension: str, name: str) -> object:
    """An ``OptionCheck`` for the ``timeout`` option."""
    return timeout(options, dimension, 1.0)
