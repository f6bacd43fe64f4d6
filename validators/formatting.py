"""``format``: is each Python file formatted as ``ruff format`` would format it?

One finding per unformatted file (code ``unformatted``, at the first line that would
change). A file ruff cannot parse or read gets ruff's own diagnostic instead.

Options (config section ``[format]``):

- ``line_length``: the line length to format for (``--line-length``).
- ``target_version``: e.g. ``"py310"`` (``--target-version``).
- ``timeout``: seconds one ruff process may run before it is killed (default 60).

- ``project_config``: use the ruff config at the project root (default true), as ``lint`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from memo import ValidationResult, cached_validation
from validators._outcome import Outcome
from validators._ruff import RuffValidator, run_ruff
from validators._tools import Tool

FormatSettings = tuple[str, ...]


class FormatValidator(RuffValidator):
    """``ruff format --check``: passes when the file is already formatted."""

    dimension: ClassVar[str] = "format"
    version: ClassVar[str] = "1"

    def settings(self) -> FormatSettings:
        return tuple(self.common_args())

    @classmethod
    async def check_chunk(
        cls, tool: Tool, paths: Sequence[str], settings: FormatSettings, timeout: float
    ) -> Mapping[str, Outcome]:
        return await run_ruff(tool, ["format", "--check", *settings], paths, timeout)

    @cached_validation(dimension="format")
    async def validate(self) -> ValidationResult:
        return await self.check()
