"""The engine under ``memo run`` and every rendered ``orchestrator.py``.

Discovery (``discovery``), each dimension's files (``filesets``), the plan and its workers (``schedule``), deadlines
(``deadline``), config (``config``), finding validators (``plugins``), the report model
(``report``) and the run itself (``engine``). It sits above ``memo`` and ``validators``
and below the command line (``memo.cli``); this module only re-exports its public names.
"""

from __future__ import annotations

from memo.engine.config import DEFAULT_TIMEOUT, RUN_KEYS
from memo.engine.discovery import SKIPPED_DIRS, discover
from memo.engine.engine import CHECKS_PER_CORE, Engine, default_jobs
from memo.engine.errors import EngineError, OrchestratorError
from memo.engine.filesets import file_sets
from memo.engine.plugins import ENTRY_POINT_GROUP, registry, resolve
from memo.engine.project import find_root
from memo.engine.report import Progress, ProgressCallback, Report

__all__ = [
    "CHECKS_PER_CORE",
    "DEFAULT_TIMEOUT",
    "ENTRY_POINT_GROUP",
    "Engine",
    "EngineError",
    "OrchestratorError",
    "Progress",
    "ProgressCallback",
    "RUN_KEYS",
    "Report",
    "SKIPPED_DIRS",
    "default_jobs",
    "discover",
    "file_sets",
    "find_root",
    "registry",
    "resolve",
]
