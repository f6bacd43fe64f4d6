"""The stored envelope: what comes back is what went in, and anything else is refused by name.

Written from what a mutation run (mutmut over memo/codec.py) showed the other tests
leave open: each field's type check on its own, the error field, and the own-file path.
"""

from __future__ import annotations

import json
import re

import pytest

from memo.codec import decode_entry, encode_entry
from memo.errors import UnsafeEntryError
from memo.keys import SCHEMA_VERSION
from memo.results import Finding, ValidationResult

GOOD = [SCHEMA_VERSION, "k", None, "lint", True, None, 0.5, []]


def raw(envelope: list[object]) -> bytes:
    return json.dumps(envelope).encode()


def test_every_field_comes_back_including_the_error_and_other_files_findings() -> None:
    result = ValidationResult(
        "lint",
        False,
        [Finding("a.py", 1, 2, "E1", "own", "error"), Finding("other.py", 3, 4, "E2", "theirs", "warning")],
        "a.py",
        "the tool crashed",
        0.25,
    )
    back = decode_entry("k", encode_entry("k", result, None), "moved/a.py", 0.0)
    assert back is not None
    assert (back.dimension, back.passed, back.error, back.duration_s, back.cached) == (
        "lint",
        False,
        "the tool crashed",
        0.25,
        True,
    )
    assert [(f.path, f.line, f.column, f.code, f.message, f.severity) for f in back.findings] == [
        ("moved/a.py", 1, 2, "E1", "own", "error"),
        ("other.py", 3, 4, "E2", "theirs", "warning"),
    ]


def test_without_a_file_path_own_findings_and_pathless_ones_have_an_empty_path() -> None:
    result = ValidationResult(
        "lint", False, [Finding("a.py", 1, 1, "E1", "m", "error"), Finding("", 2, 1, "E2", "m", "error")], "a.py"
    )
    back = decode_entry("k", encode_entry("k", result, None), None, 0.0)
    assert back is not None and [f.path for f in back.findings] == ["", ""]


@pytest.mark.parametrize(
    ("field", "value"),
    [(3, "lint-as-not-a-str"), (3, 1), (4, "yes"), (4, 1), (7, {}), (2, "tomorrow")],
    ids=["dimension-str-ok", "dimension-int", "passed-str", "passed-int", "rows-dict", "expiry-str"],
)
def test_each_field_of_the_wrong_type_is_refused_on_its_own(field: int, value: object) -> None:
    envelope = list(GOOD)
    envelope[field] = value
    if isinstance(value, str) and field == 3:
        assert decode_entry("k", raw(envelope), None, 0.0) is not None  # the control: a str dimension is fine
        return
    with pytest.raises(UnsafeEntryError, match=r"^entry is malformed: wrong field types$"):
        decode_entry("k", raw(envelope), None, 0.0)


def test_refusals_say_what_was_wrong() -> None:
    with pytest.raises(UnsafeEntryError, match=r"^entry is a str, not bytes$"):
        decode_entry("k", "[]", None, 0.0)
    with pytest.raises(UnsafeEntryError, match=r"^entry belongs to another key or schema$"):
        decode_entry("other", raw(GOOD), None, 0.0)
    with pytest.raises(UnsafeEntryError, match=re.escape("extra data after the envelope at ")):
        decode_entry("k", raw(GOOD) + b"[]", None, 0.0)
    bad_row = list(GOOD)
    bad_row[7] = [[1, 2]]
    with pytest.raises(UnsafeEntryError, match=r"^entry is malformed: \S"):
        decode_entry("k", raw(bad_row), None, 0.0)
