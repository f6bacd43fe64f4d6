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
from validators import _options
from validators._batched import BatchedValidator
from validators._outcome import Outcome
from validators._ruff import config_args, config_identity, run_ruff
from validators._tools import Tool

FormatSettings = tuple[str, ...]


class FormatValidator(BatchedValidator):
    """``ruff format --check``: passes when the file is already formatted."""

    dimension: ClassVar[str] = "format"
    version: ClassVar[str] = "1"
    suffixes: ClassVar[tuple[str, ...]] = (".py", ".pyi")
    tool: ClassVar[str] = "ruff"
    min_chunk: ClassVar[int] = 64

    def settings(self) -> FormatSettings:
        options, dimension = self.options(), self.dimension
        args: list[str] = list(config_args(self.root, self._use_project_config()))
        line_length = _options.integer(options, dimension, "line_length", None)
        if line_length is not None:
            args.append(f"--line-length={line_length}")
        target = _options.text(options, dimension, "target_version")
        if target is not None:
            args.append(f"--target-version={target}")
        return tuple(args)

    def _use_project_config(self) -> bool:
        try:
            return _options.flag(self.options(), self.dimension, "project_config", True)
        except _options.OptionError:
            return True  # settings() reports the bad option as this file's result

    def cache_identity(self) -> str:
        """The ruff version and the project's ruff config: editing either invalidates entries."""
        return f"{super().cache_identity()} {config_identity(self.root, self._use_project_config())}"

    @classmethod
    async def check_chunk(
        cls, tool: Tool, paths: Sequence[str], settings: FormatSettings, timeout: float
    ) -> Mapping[str, Outcome]:
        return await run_ruff(tool, ["format", "--check", *settings], paths, timeout)

    @cached_validation(dimension="format")
    async def validate(self) -> ValidationResult:
        return await self.check()
