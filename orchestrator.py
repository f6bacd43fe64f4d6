"""The validation orchestrator of this project.

Runs every validator over the tree with memo, concurrently and through its cache.
Rendered by ``memo render`` from memo's ``orchestrator.py.j2``. It holds only this
project's choices; discovery, scheduling, deadlines, config and the report live in
``memo.engine``, so upgrading memo brings every fix here too.

    python orchestrator.py [PATHS...] [memo run options]
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, ClassVar

from memo.engine import Engine, OrchestratorError, Progress, Report
from memo.validators import Validator

PROJECT: str | None = None
"""The project's name, shown in ``--help``."""

DEFAULT_VALIDATORS: tuple[type[Validator], ...] | None = None
"""The validators run when none are named; None: every per-file validator memo finds."""

DEFAULT_JOBS: int | None = None
"""Tool processes at once when ``jobs`` is not given; None: one per core."""

DEFAULT_CONFIG: dict[str, Any] = {}
"""The config under ``[tool.memo]`` and ``--config``."""


class ValidationOrchestrator(Engine):
    """memo's engine with this project's defaults.

    ``ValidationOrchestrator(root, config, validators, cache, jobs)``;
    ``await run(paths)`` returns a ``Report``; ``clear_cache()`` and
    ``cache_stats()`` manage the cache.
    """

    default_validators: ClassVar[Sequence[type[Validator]] | None] = DEFAULT_VALIDATORS
    default_jobs: ClassVar[int | None] = DEFAULT_JOBS
    default_config: ClassVar[dict[str, Any]] = DEFAULT_CONFIG


def main(argv: Sequence[str] | None = None) -> int:
    """``python orchestrator.py [PATHS...]``: ``memo run`` with this file's defaults."""
    from memo.cli import run_main

    return run_main(argv, orchestrator=ValidationOrchestrator, project=PROJECT)


__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_JOBS",
    "DEFAULT_VALIDATORS",
    "OrchestratorError",
    "Progress",
    "Report",
    "ValidationOrchestrator",
    "main",
]

if __name__ == "__main__":
    sys.exit(main())
