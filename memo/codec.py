"""The stored format: a result in a JSON envelope that names its schema, key and expiry.

JSON, never pickle: a value read back can at worst fail to parse. The envelope carries
the key it was written under, so an entry that turns up under another key (a planted or
corrupt row) is detected on read and treated as a miss.

The envelope is a JSON array rather than an object, and findings are rows rather than
objects, because decoding is on the hit path: positional data parses faster and builds
the dataclasses with no per-field lookups::

    [schema, key, expires_at, dimension, passed, error, duration_s,
     [[path, line, column, code, message, severity(, cell)], ...]]

A finding in a notebook carries its cell as a seventh element; other rows have six.
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import Callable
from typing import Any

from memo.errors import UnsafeEntryError
from memo.keys import SCHEMA_VERSION
from memo.results import Finding, ValidationResult

_THIS_FILE = ""
"""Stored in place of the validated file's own path, so entries are checkout-independent.

A finding whose path really is ``""`` is stored as ``null``, so it comes back as ``""``.
"""

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_scan: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
"""The decoder's own scanner, called directly: ``decode`` wraps it in two whitespace regex
matches, and an envelope (which ``encode_entry`` writes without any) needs neither."""


def encode_entry(key: str, result: ValidationResult, expires_at: float | None) -> bytes:
    """The bytes stored for ``result`` under ``key``."""
    own = result.file_path
    rows: list[list[Any]] = [
        [_THIS_FILE if f.path == own else (f.path or None), f.line, f.column, f.code, f.message, f.severity]
        for f in result.findings
    ]
    for row, finding in zip(rows, result.findings, strict=True):
        if finding.cell is not None:
            row.append(finding.cell)
    envelope = [
        SCHEMA_VERSION,
        key,
        expires_at,
        result.dimension,
        result.passed,
        result.error,
        result.duration_s,
        rows,
    ]
    return _encoder.encode(envelope).encode()


def decode_entry(key: str, data: Any, file_path: str | None, now: float) -> ValidationResult | None:
    """The result stored in ``data`` for ``key``, re-rooted at ``file_path``.

    Returns None when the entry has expired; raises ``UnsafeEntryError`` when it is not
    a well-formed entry for this key.
    """
    if type(data) is not bytes:
        raise UnsafeEntryError(f"entry is a {type(data).__name__}, not bytes")
    try:
        text = data.decode()
        envelope, end = _scan(text, 0)
        if end != len(text):
            raise ValueError(f"extra data after the envelope at {end}")
        schema, stored_key, expires_at, dimension, passed, error, duration_s, rows = envelope
    except StopIteration as exc:  # the scanner's "no JSON value here"
        raise UnsafeEntryError(f"entry is malformed: no JSON value at {exc.value}") from exc
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: a planted "[[[[...]]]]"
        raise UnsafeEntryError(f"entry is malformed: {exc}") from exc
    if schema != SCHEMA_VERSION or stored_key != key:
        raise UnsafeEntryError("entry belongs to another key or schema")
    if (
        type(dimension) is not str
        or type(passed) is not bool
        or type(rows) is not list
        or (expires_at is not None and type(expires_at) not in (int, float))
    ):
        raise UnsafeEntryError("entry is malformed: wrong field types")
    if expires_at is not None and now >= expires_at:
        return None
    return ValidationResult(dimension, passed, _findings(rows, file_path or ""), file_path, error, duration_s, True)


def _findings(rows: list[Any], own: str) -> list[Finding]:
    """The findings stored as ``rows``, those of the validated file itself at ``own``.

    Raises ``UnsafeEntryError`` when a row is not a finding.
    """
    try:
        return [
            Finding(own if path == _THIS_FILE else path or "", line, column, code, message, severity)
            for path, line, column, code, message, severity in rows
        ]
    except ValueError:
        pass  # a notebook's rows carry their cell: the rare case, kept off the common path
    except TypeError as exc:
        raise UnsafeEntryError(f"entry is malformed: {exc}") from exc
    if not all(type(row) is list and len(row) in (6, 7) for row in rows):
        raise UnsafeEntryError("entry is malformed: a finding row has neither six nor seven fields")
    try:
        return [Finding(own if row[0] == _THIS_FILE else row[0] or "", *row[1:]) for row in rows]
    except TypeError as exc:
        raise UnsafeEntryError(f"entry is malformed: {exc}") from exc
