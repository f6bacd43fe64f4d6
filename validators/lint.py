"""``lint``: ruff's linter (``ruff check``) on each Python file.

Options (config section ``[lint]``):

- ``select``: rule codes or prefixes to enable (ruff's ``--select``); ruff's defaults if absent.
- ``extend_select``: codes to add to the selection (``--extend-select``).
- ``ignore``: codes to turn off (``--ignore``).
- ``line_length``: maximum line length (``--line-length``).
- ``target_version``: the Python version to lint for, e.g. ``"py310"`` (``--target-version``).
- ``timeout``: seconds one ruff process may run before it is killed (default 60).

- ``project_config``: use the ruff config at the project root (default true); its
  content is part of the cache key. These options override it. With false, or with no
  config file, ruff runs ``--isolated``. Nested config files below the root are not read.
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

LintSettings = tuple[str, ...]


class LintValidator(BatchedValidator):
    """ruff's lint rules; one finding per diagnostic, with ruff's rule code."""

    dimension: ClassVar[str] = "lint"
    version: ClassVar[str] = "1"
    suffixes: ClassVar[tuple[str, ...]] = (".py", ".pyi")
    tool: ClassVar[str] = "ruff"
    min_chunk: ClassVar[int] = 64

    def settings(self) -> LintSettings:
        """The ruff arguments these options stand for (a hashable batch key)."""
        options, dimension = self.options(), self.dimension
        args: list[str] = list(config_args(self.root, self._use_project_config()))
        for name, flag in (("select", "--select"), ("extend_select", "--extend-select"), ("ignore", "--ignore")):
            codes = _options.string_list(options, dimension, name)
            if codes:
                args.append(f"{flag}={','.join(codes)}")
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
        cls, tool: Tool, paths: Sequence[str], settings: LintSettings, timeout: float
    ) -> Mapping[str, Outcome]:
        return await run_ruff(tool, ["check", *settings], paths, timeout)

    @cached_validation(dimension="lint")
    async def validate(self) -> ValidationResult:
        return await self.check()
