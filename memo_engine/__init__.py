"""The engine under ``memo run`` and every rendered ``orchestrator.py``.

Discovery (``discovery``), each dimension's files (``filesets``), the plan and its workers (``schedule``), deadlines
(``deadline``), config (``config``), finding validators (``plugins``), the report model
(``report``) and the run itself (``engine``). It sits above ``memo`` and ``validators``
and below the command line (``memo.cli``); this module only re-exports its public names.

The names are imported on first use (PEP 562), as ``memo``'s are: a run answered from
its manifest (``memo.manifest``) needs the report model, not asyncio or the validators.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

if _TYPE_CHECKING:
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

_HOMES: dict[str, str] = {
    "CHECKS_PER_CORE": "memo.engine.engine",
    "DEFAULT_TIMEOUT": "memo.engine.config",
    "ENTRY_POINT_GROUP": "memo.engine.plugins",
    "Engine": "memo.engine.engine",
    "EngineError": "memo.engine.errors",
    "OrchestratorError": "memo.engine.errors",
    "Progress": "memo.engine.report",
    "ProgressCallback": "memo.engine.report",
    "RUN_KEYS": "memo.engine.config",
    "Report": "memo.engine.report",
    "SKIPPED_DIRS": "memo.engine.discovery",
    "default_jobs": "memo.engine.engine",
    "discover": "memo.engine.discovery",
    "file_sets": "memo.engine.filesets",
    "find_root": "memo.engine.project",
    "registry": "memo.engine.plugins",
    "resolve": "memo.engine.plugins",
}
"""Where each public name lives."""


def __getattr__(name: str) -> _Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'memo.engine' has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
