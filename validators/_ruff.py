"""Run ruff over a chunk of files as a user would, with JSON output, and split its diagnostics per file.

Shared by ``lint`` (``ruff check``) and ``format`` (``ruff format --check``): both print
the same JSON diagnostic list, one entry per finding, each naming its file.

ruff runs the way ``ruff check .`` at the project root does, on the files memo validates
of those ruff itself checks there (``memo.validators._ruff_files``):

- in the project root (``cwd``), with paths relative to it, so relative settings
  (``src``, ``per-file-ignores``, ``exclude``) resolve as they do for the user;
- with no ``--config``: ruff finds the closest config per file itself (nested configs,
  ``extend`` chains, ``requires-python``, the user's own config);
- with ``--force-exclude``, so ``exclude``/``extend-exclude`` apply to the paths memo
  passes as they do to the paths a directory walk finds;
- never changing a file: ``check`` gets ``--no-fix --no-fix-only`` (whatever ``fix`` or
  ``fix-only`` say; ``fix-only = true`` overrides ``--no-fix`` alone) and
  ``format`` only ever runs with ``--check``; ``--no-cache`` keeps ``.ruff_cache`` out.

``--isolated`` is used only when the ``project_config`` option turns the project's
config off. What else a result depends on is this module's ``cache_context`` (see
``memo.validators._ruff_context``), checked again after ruff ran.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from memo import ValidationResult, current_binding, planning_scope
from memo.validators import _options, _process, _tools
from memo.validators._batched import BatchedValidator, PathIndex
from memo.validators._fileset import FileSet
from memo.validators._outcome import Outcome, RawFinding
from memo.validators._ruff_context import OBSERVER, Snapshot, snapshot
from memo.validators._ruff_files import RuffFiles, RuffFilesError, ruff_files
from memo.validators._tools import Tool

_SEVERITIES = {"error": "error", "warning": "warning", "info": "info"}

RuffSettings = tuple[str, tuple[str, ...]]
"""``(project root, ruff arguments)``: one batch per root and arguments."""

CONTEXT_CHANGED = (
    "a ruff config, or a file ruff reads besides this one, changed while ruff ran; the result is not stored: run again"
)


def _finding(entry: Mapping[str, Any]) -> RawFinding:
    location = entry.get("location") or {}
    code = entry.get("code") or entry.get("name") or "ruff"
    severity = _SEVERITIES.get(str(entry.get("severity", "error")).lower(), "error")
    found = (int(location.get("row") or 1), int(location.get("column") or 1), str(code), str(entry.get("message", "")))
    cell = entry.get("cell")
    # A notebook's rows are counted within its cells, as ruff reports them.
    return (*found, severity) if not isinstance(cell, int) else (*found, severity, cell)


def _argument(path: str, root: str) -> str:
    """``path`` relative to ``root`` when inside it (as a user at the root types it), else absolute."""
    relative = os.path.relpath(path, root)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return path
    return relative


async def run_ruff(
    tool: Tool, subcommand: Sequence[str], root: str, paths: Sequence[str], timeout: float
) -> dict[str, Outcome]:
    """``ruff <subcommand> --force-exclude --no-cache --output-format json <paths>`` in ``root``.

    Returns ``{path: Outcome}`` for the files with findings. Exit statuses 0-2 all carry
    a diagnostic list (2 when some file could not be parsed or read); anything else, or
    output that is not that list, is a tool failure. ``format`` prints nothing at all when
    every path given is excluded: no findings.
    """
    arguments = [_argument(path, root) for path in paths]
    argv = [*tool.argv, *subcommand, "--force-exclude", "--no-cache", "--output-format", "json", "--", *arguments]
    completed = await _process.run(argv, timeout=timeout, cwd=root)
    stdout = completed.stdout if completed.stdout.strip() or completed.returncode != 0 else b"[]"
    try:
        entries = json.loads(stdout) if completed.returncode in (0, 1, 2) else None
    except ValueError:
        entries = None
    if not isinstance(entries, list):
        raise _process.ToolError(_process.describe_failure("ruff", completed))
    index = PathIndex(paths)
    found: dict[str, list[RawFinding]] = {}
    for entry in entries:
        name = str(entry.get("filename", "")) if isinstance(entry, dict) else ""
        path = index.find(os.path.join(root, name)) if name else None
        if path is None:
            raise _process.ToolError(f"ruff reported a file it was not given: {entry!r:.200}")
        found.setdefault(path, []).append(_finding(entry))
    return {path: Outcome(tuple(sorted(rows, key=_by_place))) for path, rows in found.items()}


def _by_place(row: RawFinding) -> tuple[int, RawFinding]:
    """Cell first (a notebook's lines restart in each), then line, column, code."""
    return (row[5] if len(row) > 5 else 0, row)


class RuffValidator(BatchedValidator):
    """What ``lint`` and ``format`` share: the ruff binary, the project root, the context."""

    suffixes: ClassVar[tuple[str, ...]] = (".py", ".pyi")
    tool: ClassVar[str] = "ruff"
    min_chunk: ClassVar[int] = 64
    reads_imports: ClassVar[bool] = False
    """True for ``lint``: which imports are first-party, and the package, change its findings."""
    option_checks: ClassVar[Mapping[str, _options.OptionCheck] | None] = {
        "line_length": _options.integer_check(None),
        "target_version": _options.text,
        "project_config": _options.flag_check(True),
        "timeout": _options.timeout_check,
    }

    _context: Snapshot | None = None

    @classmethod
    def file_set(cls, root: Path, config: Mapping[str, Any], candidates: Sequence[Path]) -> FileSet | None:
        """The files ``ruff check .`` (lint) or ``ruff format --check .`` (format) checks at ``root``."""
        tool = _tools.find_tool(cls.tool)
        if tool is None:
            return None
        section = config.get(cls.dimension, {})
        try:
            use_config = _options.flag(
                section if isinstance(section, Mapping) else {}, cls.dimension, "project_config", True
            )
            return cls.pick(ruff_files(tool, os.path.abspath(root), isolated=not use_config))
        except (RuffFilesError, _options.OptionError):
            return None  # each file's check then says what is wrong

    @classmethod
    def pick(cls, files: RuffFiles) -> FileSet:
        """This dimension's set of the two ruff answers."""
        raise NotImplementedError

    def project_root(self) -> str:
        """Where ruff runs: the validator's root, else the bound run's, else the working directory."""
        root = self.root
        if root is None:
            binding = current_binding()
            root = binding.root if binding is not None else None
        return os.path.abspath(root if root is not None else os.getcwd())

    def common_args(self) -> list[str]:
        """``--isolated`` (if the project config is off), ``--line-length``, ``--target-version``."""
        options, dimension = self.options(), self.dimension
        args = [] if self._use_project_config() else ["--isolated"]
        line_length = _options.integer(options, dimension, "line_length", None)
        if line_length is not None:
            args.append(f"--line-length={line_length}")
        target = _options.text(options, dimension, "target_version")
        if target is not None:
            args.append(f"--target-version={target}")
        return args

    def _use_project_config(self) -> bool:
        try:
            return _options.flag(self.options(), self.dimension, "project_config", True)
        except _options.OptionError:
            return True  # settings() reports the bad option as this file's result

    def cache_context(self) -> str:
        """A digest of the ruff configs and other files this file's result depends on.

        Remembered on the instance, so ``check`` can confirm after ruff ran that none of
        them changed meanwhile.
        """
        self._context = None
        if self.file_path is None:
            return ""
        path = os.path.abspath(self.file_path)
        try:
            modules = OBSERVER.imports(path) if self.reads_imports else None
            taken = snapshot(
                self.project_root(),
                path,
                use_config=self._use_project_config(),
                modules=modules,
                scope=planning_scope(),
            )
        except Exception:  # no traceback from a key; a key that matches nothing instead
            return f"ruff-context=unknown-{os.urandom(16).hex()}"
        self._context = taken
        return f"ruff-context={taken.digest}"

    def cache_witnesses(self) -> tuple[str, ...]:
        """None beyond what the context reports itself: it tells ``memo.witness`` every name and file it reads."""
        return ()

    async def check(self) -> ValidationResult:
        """The batched result, withheld as an error if the context changed while ruff ran."""
        result = await super().check()
        taken = self._context
        if taken is not None and result.error is None and not taken.still_holds():
            return replace(result, passed=False, error=CONTEXT_CHANGED)
        return result
