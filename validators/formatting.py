"""``format``: is each file ``ruff format --check .`` checks (Python, stubs, notebooks, Markdown) formatted?

One finding per unformatted file (code ``unformatted``, at the first line that would
change). A file ruff cannot parse or read gets ruff's own diagnostic instead.

Options (config section ``[format]``):

- ``line_length``: the line length to format for (``--line-length``).
- ``target_version``: e.g. ``"py310"`` (``--target-version``).
- ``timeout``: seconds one ruff process may run before it is killed (default 60).

- ``project_config``: use the project's ruff configuration (default true), as ``lint`` does.

Never formats anything: ruff only ever runs ``format --check``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from memo import ValidationResult, cached_validation
from memo.validators._fileset import FileSet
from memo.validators._outcome import Outcome
from memo.validators._ruff import RuffSettings, RuffValidator, run_ruff
from memo.validators._ruff_files import RuffFiles
from memo.validators._tools import Tool

FormatSettings = RuffSettings


class FormatValidator(RuffValidator):
    """``ruff format --check``: passes when the file is already formatted."""

    dimension: ClassVar[str] = "format"
    version: ClassVar[str] = "2"
    suffixes: ClassVar[tuple[str, ...]] = (".py", ".pyi", ".ipynb", ".md")

    @classmethod
    def pick(cls, files: RuffFiles) -> FileSet:
        return files.format

    def settings(self) -> FormatSettings:
        return self.project_root(), tuple(self.common_args())

    @classmethod
    async def check_chunk(
        cls, tool: Tool, paths: Sequence[str], settings: FormatSettings, timeout: float
    ) -> Mapping[str, Outcome]:
        root, args = settings
        return await run_ruff(tool, ["format", "--check", *args], root, paths, timeout)

    @cached_validation()
    async def validate(self) -> ValidationResult:
        return await self.check()
