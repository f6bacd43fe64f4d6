"""``complexity``: cyclomatic complexity of each function, measured by radon.

One finding (code ``too-complex``, severity warning) per function or method whose
complexity is above the limit, at the line and column of its ``def``. A file that does
not parse gets one ``unparsable`` finding.

Options (config section ``[complexity]``):

- ``max_complexity``: the highest complexity allowed (default 10).
- ``timeout``: seconds one batch may take in the worker pool (default 60).

The key holds radon's version and the interpreter radon parses with (implementation and
version): the grammar decides what parses, so a file is measured again under another Python.

radon is pure Python, so it runs in the shared process pool, a batch of files per task (a
handful of files in-process: ``memo.validators._pool``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from memo import ValidationResult, cached_validation
from memo.validators import _context, _options, _pool, _tools, _workers
from memo.validators._batched import BatchedValidator
from memo.validators._fileset import FileSet
from memo.validators._outcome import Outcome
from memo.validators._radon_files import RadonFilesError, radon_files
from memo.validators._tools import Tool

DEFAULT_MAX_COMPLEXITY = 10


class ComplexityValidator(BatchedValidator):
    """radon's cyclomatic complexity against ``max_complexity``."""

    dimension: ClassVar[str] = "complexity"
    version: ClassVar[str] = "2"
    tool: ClassVar[str] = "radon"
    option_checks: ClassVar[Mapping[str, _options.OptionCheck] | None] = {
        "max_complexity": _options.integer_check(DEFAULT_MAX_COMPLEXITY, minimum=0),
        "timeout": _options.timeout_check,
    }
    max_batch: ClassVar[int] = 256
    min_chunk: ClassVar[int] = 8
    max_chunks: ClassVar[int] = 2 * _pool.workers()

    @classmethod
    def file_set(cls, root: Path, config: Mapping[str, Any], candidates: Sequence[Path]) -> FileSet | None:
        """The ``candidates`` ``radon cc .`` at ``root`` measures (see ``memo.validators._radon_files``)."""
        if _tools.find_tool(cls.tool) is None:
            return None
        try:
            return radon_files(os.path.abspath(root), (str(path) for path in candidates))
        except RadonFilesError:
            return None

    def cache_identity(self) -> str:
        """radon's version and the interpreter's (implementation and version): both decide how a file parses."""
        return f"{super().cache_identity()} on {_context.interpreter()}"

    def settings(self) -> int:
        limit = _options.integer(self.options(), self.dimension, "max_complexity", DEFAULT_MAX_COMPLEXITY, minimum=0)
        return DEFAULT_MAX_COMPLEXITY if limit is None else limit

    @classmethod
    async def check_chunk(
        cls, tool: Tool, paths: Sequence[str], settings: int, timeout: float
    ) -> Mapping[str, Outcome]:
        return await _pool.run_checks(_workers.measure_complexity, (list(paths), settings), paths, timeout)

    @cached_validation()
    async def validate(self) -> ValidationResult:
        return await self.check()
