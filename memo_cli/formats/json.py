"""The JSON report: ``summary`` (the counts) and ``results`` (every result, dataclass field names)."""

from __future__ import annotations

import io
import json
from typing import TextIO

from memo.engine import Report

_compact = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
"""Without ``indent`` json uses its C encoder; with ``indent=2`` it falls back to pure Python."""


def write_json(report: Report, out: TextIO) -> None:
    """``to_json``, written to ``out`` one result at a time.

    A warm run over a large tree has hundreds of thousands of results: building one dict
    per result and then one string of the whole document doubled the run's peak memory,
    and ``indent=2`` forced the pure-Python encoder. The summary stays indented; each
    result is one line, encoded by the C encoder, so the file still reads line by line.
    """
    summary = json.dumps(report.summary(), indent=2, ensure_ascii=False).replace("\n", "\n  ")
    out.write(f'{{\n  "summary": {summary},\n  "results": [')
    separator = "\n    "
    for result in report.ordered():
        out.write(separator)
        out.write(_compact(result.to_dict()))
        separator = ",\n    "
    out.write("\n  ]\n}\n" if separator != "\n    " else "]\n}\n")


def to_json(report: Report) -> str:
    """One JSON document: ``summary`` (the counts) and ``results`` (every result, dataclass field names)."""
    out = io.StringIO()
    write_json(report, out)
    return out.getvalue()
