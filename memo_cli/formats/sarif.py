"""SARIF 2.1.0: one run, one result per finding, errors and skips as tool notifications."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import memo
from memo.cli.formats import sorted_results
from memo.engine import Report

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def _uri(path: str, root: Path) -> tuple[str, bool]:
    """``path`` as a URI reference: relative to the root (True) when under it, else a file URI."""
    absolute = Path(os.path.abspath(path))
    try:
        return quote(absolute.relative_to(os.path.abspath(root)).as_posix()), True
    except ValueError:
        return absolute.as_uri(), False


def _location(path: str, root: Path, line: int = 0, column: int = 0) -> dict[str, Any]:
    uri, relative = _uri(path, root)
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = "SRCROOT"
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if line >= 1:
        region: dict[str, Any] = {"startLine": line}
        if column >= 1:
            region["startColumn"] = column
        physical["region"] = region
    return {"physicalLocation": physical}


def to_sarif(report: Report) -> str:
    """SARIF 2.1.0: one run, one result per finding, errors and skips as tool notifications."""
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    root = report.root
    rule_index: dict[str, int] = {}
    for result in sorted_results(report.notable()):
        for finding in result.findings:
            if finding.code not in rules:
                rule_index[finding.code] = len(rules)
                rules[finding.code] = {
                    "id": finding.code,
                    "shortDescription": {"text": f"{result.dimension} {finding.code}"},
                    "properties": {"dimension": result.dimension},
                }
            where = finding.path or result.file_path or str(root)
            results.append(
                {
                    "ruleId": finding.code,
                    "ruleIndex": rule_index[finding.code],
                    "level": SARIF_LEVELS.get(finding.severity, "warning"),
                    "message": {"text": finding.message},
                    "locations": [_location(where, root, finding.line, finding.column)],
                    "properties": {"dimension": result.dimension, "cached": result.cached},
                }
            )
        if result.error is not None:
            notification: dict[str, Any] = {
                "level": "note" if result.skip_reason is not None else "error",
                "message": {"text": f"{result.dimension}: {result.error}"},
            }
            if result.file_path is not None:
                notification["locations"] = [_location(result.file_path, root)]
            notifications.append(notification)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "memo",
                        "version": memo.__version__,
                        "rules": list(rules.values()),
                    }
                },
                "originalUriBaseIds": {"SRCROOT": {"uri": Path(os.path.abspath(root)).as_uri() + "/"}},
                "invocations": [
                    {
                        "executionSuccessful": report.errors == 0,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
