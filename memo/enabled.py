"""The process-wide switch: ``VALIDATION_CACHE_ENABLED`` turns every cache read and write off.

Read on every call (not once at import), so a test or a long-lived process can flip it.
A value that is neither a recognised yes nor a recognised no leaves caching on and is
reported once, because a typo (``flase``) must not silently mean the opposite.
"""

from __future__ import annotations

import logging
import os
import threading

ENV_VAR = "VALIDATION_CACHE_ENABLED"
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
TRUE_WORDS = frozenset({"true", "1", "yes", "on", ""})

log = logging.getLogger("memo")

_warned: set[str] = set()
_warned_lock = threading.Lock()


def caching_enabled() -> bool:
    """False when ``VALIDATION_CACHE_ENABLED`` is false/0/no/off (any case); read on every call.

    Unset, empty or true/1/yes/on: enabled. Anything else: enabled, with one warning per value.
    """
    value = os.environ.get(ENV_VAR)
    if value is None:
        return True
    word = value.strip().lower()
    if word in FALSE_WORDS:
        return False
    if word not in TRUE_WORDS:
        _warn_unrecognised(value)
    return True


def _warn_unrecognised(value: str) -> None:
    with _warned_lock:
        if value in _warned:
            return
        _warned.add(value)
    log.warning(
        "memo: %s=%r is not recognised (use 1/true/yes/on or 0/false/no/off); caching stays on",
        ENV_VAR,
        value,
    )


DISABLED_REASON = f"caching is disabled by {ENV_VAR}"
