"""Whether this run may import the project's own validators: an explicit choice, as a conftest.py is understood.

``[tool.memo] validators`` names classes in the checkout; importing them runs the
checkout's code inside memo. Built-in tools never do (see ``memo.validators._tools``), so
memo loads a project's validators only when the user or CI says so, with
``--trust-project`` or ``VALIDATION_CACHE_TRUST_PROJECT``:

- ``no`` (the default; also ``0``, ``false``, empty): the project's validators are not
  loaded. The rest runs, memo says which were left out, and the run does not pass (a
  configured check that did not run proves nothing, as with a missing tool).
- ``yes`` (``1``, ``true``): they are loaded, and the writer keys
  (``VALIDATION_CACHE_SIGNING_KEY``, ``VALIDATION_CACHE_SECRET``) are removed from memo's
  environment first, so code from the checkout never shares a process with a key that
  can write shared results. A reader's public keys stay: reads still verify.
- ``with-keys``: loaded, and the writer keys kept: for a job that trusts its checkout
  (main-branch CI) and writes shared results.
"""

from __future__ import annotations

import os
from enum import Enum

from memo.engine.errors import EngineError

TRUST_ENV = "VALIDATION_CACHE_TRUST_PROJECT"


class Trust(Enum):
    """How far this run trusts the checkout's own code."""

    NO = "no"
    YES = "yes"
    WITH_KEYS = "with-keys"

    @property
    def loads_project_code(self) -> bool:
        return self is not Trust.NO


_SPELLINGS = {
    "": Trust.NO,
    "0": Trust.NO,
    "no": Trust.NO,
    "false": Trust.NO,
    "1": Trust.YES,
    "yes": Trust.YES,
    "true": Trust.YES,
    "with-keys": Trust.WITH_KEYS,
}


def parse_trust(value: str, where: str = TRUST_ENV) -> Trust:
    """``value`` (from ``where``) as a ``Trust``; ``EngineError`` naming the accepted values if it is none."""
    found = _SPELLINGS.get(value.strip().lower())
    if found is None:
        raise EngineError(f"{where} must be one of no, yes, with-keys (or 0, 1), not {value!r}")
    return found


def resolve_trust(given: Trust | str | bool | None = None) -> Trust:
    """This run's trust: ``given`` (``--trust-project``, an API argument), else ``$VALIDATION_CACHE_TRUST_PROJECT``."""
    if isinstance(given, Trust):
        return given
    if isinstance(given, bool):
        return Trust.YES if given else Trust.NO
    if given is not None:
        return parse_trust(given, "--trust-project")
    return parse_trust(os.environ.get(TRUST_ENV, ""))
