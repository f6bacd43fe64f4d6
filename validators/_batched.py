"""The shared shape of per-file validators whose misses are checked many files at a time.

A subprocess per file costs ~10 ms of tool start-up; one process given a hundred files
costs well under 1 ms per file. So ``validate()`` calls that miss the cache hand their
file to a ``memo.Batcher`` (one per validator class and tool settings), which passes
every file queued in the same loop tick to one ``check_batch`` call. A large batch is
split into a few chunks run side by side, so both cores work; each file still gets its
own result, and through the decorator its own cache entry.
"""

from __future__ import annotations

import asyncio
import math
import os
import stat
import time
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar

from memo import Batcher, Finding, ValidationResult
from memo.validators import _context, _options, _parallelism, _tools
from memo.validators._options import OptionError
from memo.validators._outcome import CLEAN, Outcome
from memo.validators._process import ToolError, cores
from memo.validators.base import Validator

_batchers: dict[tuple[type[Any], Hashable], Batcher[str, Outcome]] = {}


class BatchedValidator(Validator):
    """A per-file validator whose work is done by ``check_chunk`` over many files at once.

    Subclasses name their ``tool`` (for the missing-tool check and the cache identity),
    turn their options into hashable ``settings()``, and implement ``check_chunk``.
    """

    tool: ClassVar[str] = ""
    default_timeout: ClassVar[float] = 60.0
    max_batch: ClassVar[int] = 128
    """At most this many files per batch: beyond it a new batch starts at once."""
    min_chunk: ClassVar[int] = 32
    """A batch is split into parallel chunks of at least this many files."""
    max_chunks: ClassVar[int] = cores()

    def cache_identity(self) -> str:
        """The tool's name and version: upgrading the tool invalidates this validator's entries."""
        name = self.tool
        found = _context.observed(("memo.tool", name), lambda: _tools.find_tool(name))
        return found.identity if found is not None else f"{self.tool} not installed"

    def settings(self) -> Hashable:
        """The options that change what the tool reports, as a hashable value."""
        return ()

    @classmethod
    async def check_chunk(
        cls, tool: _tools.Tool, paths: Sequence[str], settings: Any, timeout: float
    ) -> Mapping[str, Outcome]:
        """``{absolute path: Outcome}`` for every path (a missing path counts as clean)."""
        raise NotImplementedError

    async def check(self) -> ValidationResult:
        """This file's result, computed in a batch with every other file queued now."""
        started = time.perf_counter()
        dimension = self.dimension
        if self.file_path is None:
            return ValidationResult(dimension, False, error=f"{dimension} checks one file; it was given none")
        own = str(self.file_path)
        try:
            settings = self.settings()
            timeout = _options.timeout(self.options(), dimension, self.default_timeout)
        except OptionError as exc:
            return ValidationResult(dimension, False, file_path=own, error=str(exc))
        tool = _tools.find_tool(self.tool)
        if tool is None:
            return ValidationResult.skipped(dimension, self.file_path, f"{self.tool} is not installed")
        path = os.path.abspath(self.file_path)
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                raise IsADirectoryError(f"not a regular file: {path}")
        except OSError as exc:
            return ValidationResult(dimension, False, file_path=own, error=f"cannot read file: {exc}")
        outcome = await self._batcher(tool, settings, timeout).load(path)
        findings = [Finding(own, *raw) for raw in outcome.findings]
        return ValidationResult(
            dimension,
            passed=outcome.error is None and not findings,
            findings=findings,
            file_path=own,
            error=outcome.error,
            duration_s=time.perf_counter() - started,
        )

    @classmethod
    def _batcher(cls, tool: _tools.Tool, settings: Hashable, timeout: float) -> Batcher[str, Outcome]:
        key = (cls, (tool, settings, timeout))
        batcher = _batchers.get(key)
        if batcher is None:

            async def check_batch(paths: Sequence[str]) -> Mapping[str, Outcome]:
                return await cls._check_batch(tool, paths, settings, timeout)

            batcher = _batchers[key] = Batcher(check_batch, max_batch=cls.max_batch)
        return batcher

    @classmethod
    async def _check_batch(
        cls, tool: _tools.Tool, paths: Sequence[str], settings: Any, timeout: float
    ) -> Mapping[str, Outcome]:
        count = max(1, min(_parallelism.scaled(cls.max_chunks), math.ceil(len(paths) / cls.min_chunk)))
        size = math.ceil(len(paths) / count)
        chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
        found = await asyncio.gather(*(cls._check_one_chunk(tool, chunk, settings, timeout) for chunk in chunks))
        merged: dict[str, Outcome] = {}
        for part in found:
            merged.update(part)
        return merged

    @classmethod
    async def _check_one_chunk(
        cls, tool: _tools.Tool, paths: Sequence[str], settings: Any, timeout: float
    ) -> Mapping[str, Outcome]:
        try:
            found = await cls.check_chunk(tool, paths, settings, timeout)
        except ToolError as exc:
            return dict.fromkeys(paths, Outcome(error=str(exc)))
        except Exception as exc:  # the boundary: a result with error, never a traceback
            return dict.fromkeys(paths, Outcome(error=f"{cls.dimension} failed: {type(exc).__name__}: {exc}"))
        return {path: found.get(path, CLEAN) for path in paths}


class PathIndex:
    """Maps the file names a tool prints back to the absolute paths it was given.

    Tools print names their own way (``./a.py``, resolved symlinks); lookups try the
    normalised absolute form first and the real path second.
    """

    def __init__(self, paths: Sequence[str]) -> None:
        self._paths = {os.path.normpath(path): path for path in paths}
        self._real: dict[str, str] | None = None

    def find(self, name: str) -> str | None:
        path = os.path.normpath(os.path.abspath(name))
        found = self._paths.get(path)
        if found is not None:
            return found
        if self._real is None:
            self._real = {os.path.realpath(path): original for path, original in self._paths.items()}
        return self._real.get(os.path.realpath(path))
