"""A run's results by check, with a clean result kept as its duration and a flag.

A warm run over a large tree gets hundreds of thousands of results, nearly all of them
clean: passed, no finding, no error, about the file the check was given. Such a result
says nothing its check does not already say, except how long it took and whether it
came from the cache, so the log keeps only those two (nine bytes) and makes the
``ValidationResult`` again when it is asked for. Every other result is kept whole.

The log is a ``Sequence[ValidationResult]`` in check order, as the list it replaces was;
``ordered()`` gives them by file, then dimension, without holding them all at once.
"""

from __future__ import annotations

import bisect
import heapq
import os
from array import array
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import overload

from memo import ValidationResult

_UNSET, _CLEAN, _CLEAN_CACHED, _WHOLE = 0, 1, 2, 3


class ResultLog(Sequence[ValidationResult]):
    """Results by check index, for checks laid out as ``(first index, dimension, paths)`` segments.

    A check with no result (its run was interrupted) is left out, as before.
    """

    def __init__(self, segments: Sequence[tuple[int, str, Sequence[Path | None]]], total: int) -> None:
        self._segments = sorted(segments, key=lambda segment: segment[0])
        self._starts = [start for start, _, _ in self._segments]
        self._state = bytearray(total)
        self._durations = array("d", bytes(8 * total))
        self._whole: dict[int, ValidationResult] = {}
        self._in_order = True
        """Whether every result sorts where its check does (its file and dimension are the check's)."""
        self.recorded = 0
        self.findings = 0
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self.skipped = 0
        self.all_passed = True

    @classmethod
    def replayed(
        cls,
        segments: Sequence[tuple[int, str, Sequence[Path | None]]],
        total: int,
        results: Mapping[int, ValidationResult],
    ) -> ResultLog:
        """A log where check ``i`` has ``results[i]`` and every other check a clean result from the cache.

        How a run answered from its manifest (``memo.manifest``) lays out its report: one
        pass over the few results that say something, none over the many clean ones.
        """
        log = cls(segments, total)
        log._state[:] = bytes([_CLEAN_CACHED]) * total
        log.recorded = log.hits = total - len(results)
        for index, result in results.items():
            log._state[index] = _UNSET
            log.record(index, result)
        return log

    def stated(self) -> Iterator[tuple[int, ValidationResult]]:
        """``(index, result)`` of every check whose result says more than "passed", in check order."""
        for index in sorted(self._whole):
            yield index, self._whole[index]

    def missing(self) -> Iterator[int]:
        """The checks with no result (the run was interrupted before them)."""
        if self.recorded == len(self._state):
            return
        for index, state in enumerate(self._state):
            if state == _UNSET:
                yield index

    def check(self, index: int) -> tuple[str, Path | None]:
        """The dimension and path of check ``index``."""
        return self._check(index)

    def at(self, index: int) -> ValidationResult | None:
        """The result of check ``index``; None if it has none."""
        return self._result(index)

    # -- recording --------------------------------------------------------------------------

    def record(self, index: int, result: ValidationResult) -> None:
        """Keep ``result`` as the result of check ``index`` (once per check)."""
        dimension, path = self._check(index)
        self.recorded += 1
        self.hits += result.cached
        self.misses += not result.cached and result.file_path is not None
        self.all_passed = self.all_passed and result.passed
        if _clean(result, dimension, path):
            self._state[index] = _CLEAN_CACHED if result.cached else _CLEAN
            self._durations[index] = result.duration_s
            return
        self._state[index] = _WHOLE
        self._whole[index] = result
        self.findings += len(result.findings)
        self.skipped += result.skip_reason is not None
        self.errors += result.error is not None and result.skip_reason is None
        if (result.file_path or "") != ("" if path is None else os.fspath(path)) or result.dimension != dimension:
            self._in_order = False

    def _check(self, index: int) -> tuple[str, Path | None]:
        """The dimension and path of check ``index``."""
        start, dimension, paths = self._segments[bisect.bisect_right(self._starts, index) - 1]
        return dimension, paths[index - start]

    def _result(self, index: int) -> ValidationResult | None:
        state = self._state[index]
        if state == _WHOLE:
            return self._whole[index]
        if state == _UNSET:
            return None
        dimension, path = self._check(index)
        cached = state == _CLEAN_CACHED
        return ValidationResult(dimension, True, [], _text(path), None, self._durations[index], cached)

    # -- reading ----------------------------------------------------------------------------

    def notable(self) -> Iterator[ValidationResult]:
        """The results that are not clean (findings, errors, skips, failures), in check order."""
        for index in sorted(self._whole):
            yield self._whole[index]

    def ordered(self) -> Iterator[ValidationResult]:
        """Every result by file, then dimension, then check order, made one at a time."""
        if not self._in_order:
            yield from _by_file_and_dimension(list(self))
            return
        streams = [self._stream(start, dimension, paths) for start, dimension, paths in self._segments]
        for _, _, index in heapq.merge(*streams):
            result = self._result(index)
            if result is not None:
                yield result

    def _stream(self, start: int, dimension: str, paths: Sequence[Path | None]) -> Iterator[tuple[str, str, int]]:
        """One segment's checks as ``(file, dimension, index)``, sorted by file.

        The engine lays checks out in that order already; a segment that is not (a caller
        of its own) is sorted here.
        """
        texts = map(_text, paths)
        offsets: Sequence[int] = range(len(paths))
        if any(before > after for before, after in zip(texts, map(_text, paths[1:]), strict=False)):
            offsets = sorted(offsets, key=lambda offset: _text(paths[offset]))
        for offset in offsets:
            yield _text(paths[offset]), dimension, start + offset

    def __len__(self) -> int:
        return self.recorded

    def __iter__(self) -> Iterator[ValidationResult]:
        for index in range(len(self._state)):
            result = self._result(index)
            if result is not None:
                yield result

    @overload
    def __getitem__(self, item: int) -> ValidationResult: ...

    @overload
    def __getitem__(self, item: slice) -> list[ValidationResult]: ...

    def __getitem__(self, item: int | slice) -> ValidationResult | list[ValidationResult]:
        if isinstance(item, int) and self.recorded == len(self._state):
            # Every check has its result (the usual case): the n-th result is check n's.
            result = self._result(range(len(self._state))[item])
            assert result is not None  # nosec B101 - every state is set when count == total
            return result
        return list(self)[item]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (ResultLog, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ResultLog({self.recorded} results)"


def _clean(result: ValidationResult, dimension: str, path: Path | None) -> bool:
    """Whether ``result`` says nothing but "passed" about its check's own file and dimension."""
    return (
        type(result) is ValidationResult
        and result.passed is True
        and type(result.cached) is bool
        and type(result.duration_s) is float
        and not result.findings
        and result.error is None
        and result.skip_reason is None
        and path is not None
        and result.dimension == dimension
        and result.file_path == os.fspath(path)
    )


def _text(path: Path | None) -> str:
    return "" if path is None else os.fspath(path)


def _by_file_and_dimension(results: list[ValidationResult]) -> list[ValidationResult]:
    """By file, then dimension: two stable sorts on strings the results already hold."""
    results.sort(key=lambda result: result.dimension)
    results.sort(key=lambda result: result.file_path or "")
    return results
