"""Reading a declared checker's output: SARIF, JSON with a field mapping, or a line regex.

Each reader turns the tool's output into ``(file name as printed, RawFinding)`` pairs;
``split`` then ties each name to one of the files the tool was given (relative names
are relative to the project root, where the tool runs). A name that is none of them is
an ``OutputError``: a finding memo cannot place must not vanish, nor land on another
file's entry.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from memo.validators._checker_spec import CheckerSpec
from memo.validators._outcome import RawFinding

Located = tuple[str, RawFinding]
"""A finding with its file's name as the tool printed it."""


class OutputError(ValueError):
    """The tool's output cannot be read as declared, or names a file it was not given."""


def _integer(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _finding(spec: CheckerSpec, line: Any, column: Any, code: Any, message: Any, severity: Any) -> RawFinding:
    shift = 1 - spec.column_base
    return (
        max(_integer(line, 1), 1),
        max(_integer(column, spec.column_base) + shift, 1),
        str(code) if code not in (None, "") else spec.name,
        "" if message is None else str(message),
        spec.severity(str(severity)) if severity not in (None, "") else "warning",
    )


def _dig(item: Any, dotted: str) -> Any:
    """``item["a"]["b"]`` for ``"a.b"``; None where a step is missing. ``""`` is the item itself."""
    for part in dotted.split(".") if dotted else ():
        if isinstance(item, Mapping):
            item = item.get(part)
        elif isinstance(item, list) and part.isdigit() and int(part) < len(item):
            item = item[int(part)]
        else:
            return None
    return item


def read_regex(spec: CheckerSpec, text: str) -> Iterator[Located]:
    assert spec.pattern is not None
    pattern = re.compile(spec.pattern)
    for line in text.splitlines():
        match = pattern.search(line)
        if match is None:
            continue
        groups = match.groupdict()
        yield (
            groups["path"],
            _finding(
                spec,
                groups["line"],
                groups.get("column"),
                groups["code"],
                groups.get("message"),
                groups.get("severity"),
            ),
        )


def read_json(spec: CheckerSpec, text: str) -> Iterator[Located]:
    fields = dict(spec.fields)
    try:
        document = json.loads(text) if text.strip() else []
    except ValueError as exc:
        raise OutputError(f"output is not JSON: {exc}") from None
    results = _dig(document, fields.get("results", ""))
    if not isinstance(results, list):
        raise OutputError(f"output has no list of results at {fields.get('results', '') or 'its top level'!r}")
    for entry in results:
        path = _dig(entry, fields["path"])
        if not isinstance(path, str) or not path:
            raise OutputError(f"a result has no path at {fields['path']!r}: {str(entry)[:200]}")
        yield (
            path,
            _finding(
                spec,
                _dig(entry, fields["line"]),
                _dig(entry, fields["column"]) if "column" in fields else None,
                _dig(entry, fields["code"]),
                _dig(entry, fields["message"]) if "message" in fields else None,
                _dig(entry, fields["severity"]) if "severity" in fields else None,
            ),
        )


def _sarif_path(location: Any, bases: Mapping[str, str]) -> str | None:
    artifact = _dig(location, "physicalLocation.artifactLocation")
    uri = _dig(artifact, "uri")
    if not isinstance(uri, str) or not uri:
        return None
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "file":
        return urllib.parse.unquote(parsed.path)
    path = urllib.parse.unquote(uri)
    base = bases.get(str(_dig(artifact, "uriBaseId") or ""))
    return os.path.join(base, path) if base else path


def read_sarif(spec: CheckerSpec, text: str) -> Iterator[Located]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise OutputError(f"output is not SARIF (not JSON): {exc}") from None
    runs = _dig(document, "runs")
    if not isinstance(runs, list):
        raise OutputError("output is not SARIF: it has no runs")
    for run in runs:
        bases: dict[str, str] = {}
        for key, value in (_dig(run, "originalUriBaseIds") or {}).items():
            uri = _dig(value, "uri")
            if isinstance(uri, str):
                parsed = urllib.parse.urlparse(uri)
                bases[key] = urllib.parse.unquote(parsed.path if parsed.scheme == "file" else uri)
        for result in _dig(run, "results") or []:
            locations = _dig(result, "locations") or [None]
            path = _sarif_path(locations[0], bases)
            if path is None:
                raise OutputError(f"a SARIF result has no file location: {str(result)[:200]}")
            region = _dig(locations[0], "physicalLocation.region") or {}
            yield (
                path,
                _finding(
                    spec,
                    _dig(region, "startLine"),
                    _dig(region, "startColumn"),
                    _dig(result, "ruleId"),
                    _dig(result, "message.text"),
                    _dig(result, "level") or "warning",
                ),
            )


READERS = {"sarif": read_sarif, "json": read_json, "regex": read_regex}


def split(spec: CheckerSpec, text: str, root: str, given: Sequence[str]) -> dict[str, list[RawFinding]]:
    """``{given path: its findings}`` from the tool's output; ``OutputError`` if it names another file."""
    index = {os.path.normpath(path): path for path in given}
    real: dict[str, str] | None = None
    found: dict[str, list[RawFinding]] = {}
    for name, finding in READERS[spec.format](spec, text):
        candidate = os.path.normpath(os.path.join(root, name))
        path = index.get(candidate)
        if path is None:
            if real is None:
                real = {os.path.realpath(key): value for key, value in index.items()}
            path = real.get(os.path.realpath(candidate))
        if path is None:
            raise OutputError(f"its output names a file it was not given: {name!r}")
        found.setdefault(path, []).append(finding)
    return found
