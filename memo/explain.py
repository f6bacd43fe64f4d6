"""``memo.explain``: would this call hit, and if not, which part of its key changed?

When a result is stored, the cache records the parts of its key as the last stored for
that file and dimension. Explaining a call derives its key now (as the decorator would),
looks the entry up without counting it, and on a miss compares the parts part by part
with that record. None of it writes: asking why is free of side effects.

The names of the parts that can differ, in key order:

- ``content``: the file's bytes
- ``config``: the config that affects the validator (its ``cache_config()`` or ``config``)
- ``validator``: the validator class (module and qualname)
- ``validator_version``: its ``version``
- ``tool_version``: its ``cache_identity()`` (the versions of the tools it runs)
- ``context``: its ``cache_context()`` (what else the result depends on)
- ``schema``: memo's entry format
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from memo.decorator import DIMENSION_ATTRIBUTE, plan_or_reason
from memo.keys import KeyParts, ValidatorIdentity

Status = Literal["hit", "miss", "uncached"]

PART_NAMES = ("content", "config", "validator", "validator_version", "tool_version", "context", "schema")
"""Every name ``Explanation.differing`` may hold, in key order."""


@dataclass(frozen=True)
class Explanation:
    """Whether a call would be served from the cache now, and if not, why."""

    dimension: str
    status: Status
    """``hit``: served from the cache; ``miss``: the body would run and its result be
    stored; ``uncached``: the call would not use the cache at all (see ``reason``)."""
    reason: str
    """One sentence for a person."""
    path: str | None = None
    """The file's path relative to the project root, as in the key (None if uncached)."""
    key: str | None = None
    parts: KeyParts | None = None
    """The parts of the key now."""
    recorded: KeyParts | None = None
    """The parts of the entry last stored for this file and dimension, if any was recorded."""
    differing: tuple[str, ...] = field(default=())
    """On a miss, the names of the parts that differ from ``recorded`` (see ``PART_NAMES``)."""

    @property
    def hit(self) -> bool:
        return self.status == "hit"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, for a command's ``--format json``."""
        return {
            "dimension": self.dimension,
            "status": self.status,
            "reason": self.reason,
            "path": self.path,
            "key": self.key,
            "parts": None if self.parts is None else self.parts.to_dict(),
            "recorded": None if self.recorded is None else self.recorded.to_dict(),
            "differing": list(self.differing),
        }


def differing_parts(now: KeyParts, before: KeyParts) -> tuple[str, ...]:
    """The names of the parts in which ``now`` differs from ``before`` (see ``PART_NAMES``)."""
    names: list[str] = []
    if now.content != before.content:
        names.append("content")
    if now.config != before.config:
        names.append("config")
    if now.validator != before.validator:
        names.extend(_identity_differences(now.validator, before.validator))
    if now.context != before.context:
        names.append("context")
    if now.schema != before.schema:
        names.append("schema")
    return tuple(names)


def _identity_differences(now: str, before: str) -> list[str]:
    one, other = ValidatorIdentity.decode(now), ValidatorIdentity.decode(before)
    if one is None or other is None:
        return ["validator"]  # an identity of an older format: it cannot be taken apart
    names = []
    if (one.module, one.qualname) != (other.module, other.qualname):
        names.append("validator")
    if one.version != other.version:
        names.append("validator_version")
    if one.tool != other.tool:
        names.append("tool_version")
    return names


def dimension_of(instance: Any) -> str:
    """The dimension ``instance.validate`` is cached under: its decorator's, else ``instance.dimension``."""
    method = getattr(type(instance), "validate", None)
    dimension = getattr(method, DIMENSION_ATTRIBUTE, None)
    if isinstance(dimension, str) and dimension:
        return dimension
    dimension = getattr(instance, "dimension", None)
    if isinstance(dimension, str) and dimension:
        return dimension
    raise TypeError(f"{type(instance).__qualname__} has no cached validate() and no dimension to explain")


def explain(instance: Any, dimension: str | None = None) -> Explanation:
    """Would ``instance.validate()`` be served from the cache now, and if not, why?

    Uses the cache a decorated call would use here (the bound run's, else the default)
    and reads without writing or counting. ``dimension`` defaults to the one the
    instance's ``validate`` is decorated with.
    """
    dimension = dimension_of(instance) if dimension is None else dimension
    plan = plan_or_reason(instance, dimension)
    if isinstance(plan, str):
        return Explanation(dimension, "uncached", f"not cached: {plan}")
    parts = plan.parts()
    last = plan.cache.last_stored(dimension, plan.path)
    recorded = None if last is None else last[1]
    if plan.cache.peek(plan.key, plan.file_path) is not None:
        status: Status = "hit"
        reason = "hit: an entry for this key is stored"
        differing: tuple[str, ...] = ()
    else:
        status = "miss"
        differing = () if recorded is None else differing_parts(parts, recorded)
        if recorded is None:
            reason = "miss: no entry was recorded for this file in this dimension"
        elif differing:
            reason = f"miss: {', '.join(differing)} changed since the entry last stored for this file"
        else:
            reason = "miss: the key is that of the entry last stored, which has expired or been evicted"
    return Explanation(dimension, status, reason, plan.path, plan.key, parts, recorded, differing)
