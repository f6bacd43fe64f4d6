"""Writing a run's report as asked (text, JSON, SARIF, ``--statistics``) and its exit status.

Shared by both ways a run is answered: by its checks (``memo.cli.run``) and from its
manifest (``memo.cli.fastpath``), so the two print the same thing. Imports nothing
heavy: the fast path must not pay for the engine.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from memo.cli.errors import EXIT_FAILED, EXIT_PASSED

if TYPE_CHECKING:
    from memo.engine.report import Report


def statistics(report: Report) -> str:
    """``--statistics``: how many findings of each code, most frequent first, as ruff prints them."""
    counts = Counter((finding.code, result.dimension) for result in report.notable() for finding in result.findings)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "".join(f"{count:>6}  {code:<12} [{dimension}]\n" for (code, dimension), count in rows)


def finish(report: Report, args: argparse.Namespace) -> int:
    """Warn about an empty run, write the report, and return the exit status."""
    if report.files == 0:
        print("memo: warning: no Python files found to check", file=sys.stderr)
    write(report, args)
    if args.exit_zero:
        return EXIT_PASSED
    return EXIT_PASSED if report.passed else EXIT_FAILED


def write(report: Report, args: argparse.Namespace) -> None:
    from memo.cli.formats import text
    from memo.cli.output import write_report, write_text

    if args.format == "json":
        from memo.cli.formats import json as json_format

        write_report(lambda out: json_format.write_json(report, out), args.output)
    elif args.format == "sarif":
        from memo.cli.formats import sarif

        write_text(sarif.to_sarif(report), args.output)
    elif args.statistics:
        write_text(statistics(report) + ("" if args.quiet else text.summary_line(report) + "\n"), args.output)
    elif args.quiet:
        write_text(text.to_text(report, Path.cwd(), summary=False), args.output)
    else:
        write_text(text.to_text(report), args.output)
    if args.output is not None and not args.quiet:
        print(text.summary_line(report), file=sys.stderr)
