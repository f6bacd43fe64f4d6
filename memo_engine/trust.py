"""Whether this run may run code the checkout names: the one gate every such path goes through.

The project's own validator classes (``[tool.memo] validators``) are imported from the
checkout, and a declared checker (``[tool.memo.checkers.NAME]``) runs the command the
checkout's config names: both are code from the checkout, as trusted as pytest's
``conftest.py`` or pre-commit's local hooks. Each asks ``project_code_allowed`` before it
loads or declares anything, so the policy (an explicit opt-in, say) lives in one place.
"""

from __future__ import annotations

from memo.engine.errors import EngineError


def project_code_allowed() -> bool:
    """Whether code the checkout names may run in this process (today: always, as before)."""
    return True


def require_project_code(what: str) -> None:
    """``EngineError`` naming ``what`` (the config key that asks) unless checkout code may run."""
    if not project_code_allowed():
        raise EngineError(f"config {what} would run code from the checkout, which this run does not trust")
