"""The stored format: a result in a JSON envelope that names its schema, key and expiry.

JSON, never pickle: a value read back can at worst fail to parse. The envelope carries
the key it was written under, so an entry that turns up under another key (a planted or
corrupt row) is detected on read and treated as a miss.
"""

from __future__ import annotations

import json
from typing import Any

from memo.errors import UnsafeEntryError
from memo.keys import SCHEMA_VERSION
from memo.results import Finding, ValidationResult

_THIS_FILE = ""
"""Stored in place of the validated file's own path, so entries are checkout-independent."""


def encode_entry(key: str, result: ValidationResult, expires_at: float | None) -> bytes:
    """The bytes stored for ``result`` under ``key``."""
    own = result.file_path
    body = result.to_dict()
    body["file_path"] = None
    body["cached"] = False
    body["findings"] = [
        {**finding.to_dict(), "path": _THIS_FILE if finding.path == own else finding.path}
        for finding in result.findings
    ]
    envelope = {"schema": SCHEMA_VERSION, "key": key, "expires_at": expires_at, "result": body}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def decode_entry(key: str, data: Any, file_path: str | None, now: float) -> ValidationResult | None:
    """The result stored in ``data`` for ``key``, re-rooted at ``file_path``.

    Returns None when the entry has expired; raises ``UnsafeEntryError`` when it is not
    a well-formed entry for this key.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise UnsafeEntryError(f"entry is a {type(data).__name__}, not bytes")
    try:
        envelope = json.loads(data)
        if envelope["schema"] != SCHEMA_VERSION or envelope["key"] != key:
            raise UnsafeEntryError("entry belongs to another key or schema")
        expires_at = envelope["expires_at"]
        if expires_at is not None and now >= float(expires_at):
            return None
        body = envelope["result"]
        result = ValidationResult.from_dict(body)
    except UnsafeEntryError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UnsafeEntryError(f"entry is malformed: {exc}") from exc
    own = file_path or ""
    result.file_path = file_path
    result.cached = True
    result.findings = [
        Finding(own, f.line, f.column, f.code, f.message, f.severity) if f.path == _THIS_FILE else f
        for f in result.findings
    ]
    return result
