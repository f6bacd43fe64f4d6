"""The engine's one exception: a run that cannot start.

``EngineError`` is a ``ValueError`` so callers that caught the orchestrator's old
``OrchestratorError`` (also a ``ValueError``) keep working; ``OrchestratorError`` is the
same class under its old name.
"""

from __future__ import annotations


class EngineError(ValueError):
    """A run cannot start: a missing path, a tree that cannot be read, or a bad config."""


OrchestratorError = EngineError
