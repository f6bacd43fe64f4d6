"""``syntax``: each Python file compiles, by this interpreter's own compiler.

A full ``compile``, not only ``ast.parse``, so errors only the compiler sees ('return'
outside a function, ``nonlocal`` at module level) are found too. Findings, each at its
line and column: ``syntax-error``, ``indentation-error``, ``tab-error``,
``encoding-error`` (bytes that are not valid in the file's declared encoding),
``null-bytes`` (a binary file), and ``syntax-warning`` (severity warning: e.g. an invalid
escape sequence). The interpreter (implementation and full version) is part of the cache key: the grammar
and the compiler's checks change between versions.

Options (config section ``[syntax]``):

- ``timeout``: seconds one batch may take in the worker pool (default 60).

The work runs in the shared process pool, a batch of files per task, so a cold run uses
every core; a handful of files is compiled in-process instead (``memo.validators._pool``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from memo import ValidationResult, cached_validation
from memo.validators import _context, _options, _pool, _workers
from memo.validators._batched import BatchedValidator
from memo.validators._outcome import Outcome
from memo.validators._tools import Tool


class SyntaxValidator(BatchedValidator):
    """Compiles the file; one finding per syntax error or compiler warning."""

    dimension: ClassVar[str] = "syntax"
    version: ClassVar[str] = "2"
    suffixes: ClassVar[tuple[str, ...]] = (".py", ".pyi")
    tool: ClassVar[str] = "python"
    option_checks: ClassVar[Mapping[str, _options.OptionCheck] | None] = {"timeout": _options.timeout_check}
    max_batch: ClassVar[int] = 256
    min_chunk: ClassVar[int] = 16
    max_chunks: ClassVar[int] = 2 * _pool.workers()

    def cache_identity(self) -> str:
        """The interpreter that compiles: its implementation and full version."""
        return f"compile on {_context.interpreter()}"

    @classmethod
    async def check_chunk(
        cls, tool: Tool, paths: Sequence[str], settings: object, timeout: float
    ) -> Mapping[str, Outcome]:
        return await _pool.run_checks(_workers.check_syntax, list(paths), paths, timeout)

    @cached_validation()
    async def validate(self) -> ValidationResult:
        return await self.check()
