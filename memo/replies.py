"""One clear line for a shared-cache round trip that failed, whatever the server sent back.

An address may lead to something that is not Redis (a web server, a stray service, a
server built to confuse clients). redis-py then fails in its own parsing code, with
errors such as ``AttributeError: 'bytes' object has no attribute 'get'`` that say nothing
to the user. Those, and redis-py's own protocol errors, become "does not answer as Redis
does"; a refused connection or a timeout keeps its own words.
"""

from __future__ import annotations

from typing import Any

_NOT_REDIS = (AttributeError, TypeError, ValueError, KeyError, IndexError, UnicodeError)
"""What redis-py raises while it reads a reply that is not Redis's (never from our own code)."""

_PROTOCOL_ERRORS = frozenset({"InvalidResponse", "ProtocolError", "DataError"})
"""redis-py's names for a reply it could not parse."""

DETAIL_CHARS = 80


def describe_failure(exc: BaseException, message: str) -> str:
    """Why a round trip failed, in one line; ``message`` is ``exc``'s text with any secret already removed."""
    detail = " ".join(message.split())
    if isinstance(exc, NotRedisReply):
        return f"the server does not answer as Redis does: {detail}"
    if isinstance(exc, _NOT_REDIS):
        return "the server does not answer as Redis does"
    if type(exc).__name__ in _PROTOCOL_ERRORS:
        shown = detail if len(detail) <= DETAIL_CHARS else detail[: DETAIL_CHARS - 3] + "..."
        return f"the server does not answer as Redis does: {shown}"
    return f"{type(exc).__name__}: {detail or type(exc).__name__}"


class NotRedisReply(ValueError):
    """A reply whose shape no Redis server sends for the command memo sent."""


def pipeline_reply(reply: Any, count: int) -> list[Any]:
    """``reply`` to a pipeline of ``count`` commands: a list of ``count`` replies, else ``NotRedisReply``.

    Checked on the network thread, so a server that answers anything else costs one
    failed round trip (the tier turns off), never a validation. Each reply's own type is
    the reader's to judge (a value of another type is a counted miss, not a broken server).
    """
    if not isinstance(reply, list) or len(reply) != count:
        shape = f"{len(reply)} replies" if isinstance(reply, list) else type(reply).__name__
        raise NotRedisReply(f"a pipeline of {count} commands answered with {shape}")
    return reply
