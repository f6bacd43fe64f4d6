"""One clear line for a shared-cache round trip that failed, whatever the server sent back.

An address may lead to something that is not Redis (a web server, a stray service, a
server built to confuse clients). redis-py then fails in its own parsing code, with
errors such as ``AttributeError: 'bytes' object has no attribute 'get'`` that say nothing
to the user. Those, and redis-py's own protocol errors, become "does not answer as Redis
does"; a refused connection or a timeout keeps its own words.
"""

from __future__ import annotations

_NOT_REDIS = (AttributeError, TypeError, ValueError, KeyError, IndexError, UnicodeError)
"""What redis-py raises while it reads a reply that is not Redis's (never from our own code)."""

_PROTOCOL_ERRORS = frozenset({"InvalidResponse", "ProtocolError", "DataError"})
"""redis-py's names for a reply it could not parse."""

DETAIL_CHARS = 80


def describe_failure(exc: BaseException, message: str) -> str:
    """Why a round trip failed, in one line; ``message`` is ``exc``'s text with any secret already removed."""
    detail = " ".join(message.split())
    if isinstance(exc, _NOT_REDIS):
        return "the server does not answer as Redis does"
    if type(exc).__name__ in _PROTOCOL_ERRORS:
        shown = detail if len(detail) <= DETAIL_CHARS else detail[: DETAIL_CHARS - 3] + "..."
        return f"the server does not answer as Redis does: {shown}"
    return f"{type(exc).__name__}: {detail or type(exc).__name__}"
