"""``lint``: ruff's linter on each file ``ruff check .`` checks (Python, stubs, notebooks, pyproject.toml).

Options (config section ``[lint]``):

- ``select``: rule codes or prefixes to enable (ruff's ``--select``); ruff's defaults if absent.
- ``extend_select``: codes to add to the selection (``--extend-select``).
- ``ignore``: codes to turn off (``--ignore``).
- ``line_length``: maximum line length (``--line-length``).
- ``target_version``: the Python version to lint for, e.g. ``"py310"`` (``--target-version``).
- ``timeout``: seconds one ruff process may run before it is killed (default 60).

- ``project_config``: use the project's ruff configuration (default true), as
  ``ruff check`` at the project root does: the closest config per file, nested configs
  and ``extend`` chains included (see ``memo.validators._ruff``). These options override it.
  With false, ruff runs ``--isolated``: memo's options and ruff's defaults only.

Never fixes anything: ruff runs with ``--no-fix --no-fix-only`` whatever the project's
``fix``, ``fix-only`` or ``unsafe-fixes`` say (``fix-only = true`` alone overrides ``--no-fix``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from memo import ValidationResult, cached_validation
from memo.validators import _options
from memo.validators._fileset import FileSet
from memo.validators._outcome import Outcome
from memo.validators._ruff import RuffSettings, RuffValidator, run_ruff
from memo.validators._ruff_files import RuffFiles
from memo.validators._tools import Tool

LintSettings = RuffSettings


class LintValidator(RuffValidator):
    """ruff's lint rules; one finding per diagnostic, with ruff's rule code."""

    dimension: ClassVar[str] = "lint"
    version: ClassVar[str] = "2"
    reads_imports: ClassVar[bool] = True
    suffixes: ClassVar[tuple[str, ...]] = (".py", ".pyi", ".ipynb")
    option_checks: ClassVar[Mapping[str, _options.OptionCheck] | None] = {
        **(RuffValidator.option_checks or {}),
        "select": _options.string_list,
        "extend_select": _options.string_list,
        "ignore": _options.string_list,
    }

    @classmethod
    def pick(cls, files: RuffFiles) -> FileSet:
        return files.lint

    def settings(self) -> LintSettings:
        """The ruff arguments these options stand for (a hashable batch key)."""
        options, dimension = self.options(), self.dimension
        args = self.common_args()
        for name, flag in (("select", "--select"), ("extend_select", "--extend-select"), ("ignore", "--ignore")):
            codes = _options.string_list(options, dimension, name)
            if codes:
                args.append(f"{flag}={','.join(codes)}")
        return self.project_root(), tuple(args)

    @classmethod
    async def check_chunk(
        cls, tool: Tool, paths: Sequence[str], settings: LintSettings, timeout: float
    ) -> Mapping[str, Outcome]:
        root, args = settings
        return await run_ruff(tool, ["check", "--no-fix", "--no-fix-only", *args], root, paths, timeout)

    @cached_validation()
    async def validate(self) -> ValidationResult:
        return await self.check()
