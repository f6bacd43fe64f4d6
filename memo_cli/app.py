"""The ``memo`` command line: arguments, dispatch, and the one place errors become exit codes.

Exit codes: 0 everything passed, 1 findings (or a check that could not run, or was
skipped because its tool is missing, or the project's validators were left out), 2 a
usage error (bad arguments, a missing path, an unknown dimension, a bad config) with one
line on stderr and never a traceback, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

import memo
from memo.cli.errors import EXIT_INTERRUPTED, EXIT_PASSED, EXIT_USAGE, UsageError, one_line

if TYPE_CHECKING:
    from memo.cli.fastpath import Attempt
    from memo.engine import Engine

EXIT_CODES = """exit status:
  0    every check passed
  1    findings, a check that failed to run, a check skipped (its tool is missing),
       or the project's own validators left out (no --trust-project)
  2    usage error: bad arguments, a missing path, an unknown dimension, a bad config
  130  interrupted (Ctrl-C)
  143  terminated (SIGTERM)"""


class _Parser(argparse.ArgumentParser):
    """argparse with memo's error line (``memo: error: ...``, exit 2) and the dimensions in ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"memo: error: {message}\n")

    def format_help(self) -> str:
        text = super().format_help()
        if self.epilog is not None and "{dimensions}" in text:
            text = text.replace("{dimensions}", _dimension_list())
        return text


def _dimension_list() -> str:
    """The dimensions memo can run here, found when ``--help`` asks (not on every start)."""
    from memo.engine import EngineError, plugins

    try:
        known = plugins.installed()
    except EngineError as exc:
        return f"  (cannot list: {one_line(exc)})"
    return "\n".join(
        f"  {name:<12} {_summary(cls.__doc__)}{'' if cls.per_file else ' (not run by default)'}"
        for name, cls in sorted(known.items())
    )


def _summary(docstring: str | None) -> str:
    """A docstring's first line as plain text (no reST literal markup) for ``--help``."""
    lines = (docstring or "").strip().splitlines()
    return lines[0].replace("``", "") if lines else ""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _dimension_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--dimension", "--dimensions", dest="dimension", action="append", metavar="NAME", help=help_text
    )


def _trust_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trust-project",
        nargs="?",
        const="yes",
        metavar="with-keys",
        help="load the project's own validators ([tool.memo] validators: code from the checkout); "
        "=with-keys also keeps the keys that write shared results (default: $VALIDATION_CACHE_TRUST_PROJECT)",
    )


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``memo run`` (and of ``python orchestrator.py``)."""
    from memo.cli.formats import FORMATS

    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to validate (default: .)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument("--no-cache", action="store_true", help="validate everything; read and write no cache")
    _dimension_option(parser, "run only this dimension (repeatable, or comma-separated)")
    parser.add_argument(
        "-j", "--jobs", type=_positive_int, metavar="N", help="tool processes run at once (default: one per core)"
    )
    parser.add_argument("--config", metavar="FILE", help="JSON or TOML config, over [tool.memo] in pyproject.toml")
    parser.add_argument("--cache-dir", metavar="DIR", help="cache directory (default: $VALIDATION_CACHE_DIR, ...)")
    parser.add_argument(
        "--remote",
        metavar="URL",
        help="shared cache: redis://, rediss:// or unix:// (default: $VALIDATION_CACHE_REMOTE)",
    )
    parser.add_argument(
        "--remote-mode",
        choices=("read-write", "read-only"),
        help="read-only: use the shared cache, never write it (default: $VALIDATION_CACHE_REMOTE_MODE or read-write)",
    )
    _trust_option(parser)
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when checks fail")
    parser.add_argument("-q", "--quiet", action="store_true", help="print findings only: no summary, no progress")
    parser.add_argument("--statistics", action="store_true", help="print how many findings of each code (text)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="memo",
        description="Memoized validation of a code tree.",
        epilog=f"dimensions:\n{{dimensions}}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"memo {memo.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = commands.add_parser(
        "run",
        help="validate files and report",
        epilog=f"dimensions:\n{{dimensions}}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_arguments(run)

    cache = commands.add_parser("cache", help="inspect or clear the cache")
    cache_commands = cache.add_subparsers(dest="cache_command", metavar="ACTION", required=True, parser_class=_Parser)
    stats = cache_commands.add_parser("stats", help="entries, size and directory")
    stats.add_argument("--format", choices=("text", "json"), default="text")
    stats.add_argument("--cache-dir", metavar="DIR")
    clear = cache_commands.add_parser("clear", help="remove every entry")
    clear.add_argument("--cache-dir", metavar="DIR")
    clear.add_argument(
        "--remote",
        nargs="?",
        const="",
        metavar="URL",
        help="also empty the shared cache (at URL, else $VALIDATION_CACHE_REMOTE or [tool.memo] remote)",
    )

    keygen = cache_commands.add_parser(
        "keygen", help="print a new signing key pair for the shared cache (private: writers; public: readers)"
    )
    keygen.add_argument("--local", action="store_true", help="print a local key (VALIDATION_CACHE_LOCAL_KEY) instead")

    explain = commands.add_parser("explain", help="why a file is or is not served from the cache")
    explain.add_argument("path", metavar="PATH", help="the file to explain")
    _dimension_option(explain, "explain only this dimension (repeatable, or comma-separated)")
    explain.add_argument("--config", metavar="FILE", help="JSON or TOML config, as for memo run")
    explain.add_argument("--cache-dir", metavar="DIR", help="cache directory, as for memo run")
    _trust_option(explain)
    explain.add_argument("--format", choices=("text", "json"), default="text")

    render = commands.add_parser("render", help="write orchestrator.py from its template")
    _dimension_option(render, "default dimensions (repeatable, or comma-separated)")
    render.add_argument("--jobs", type=_positive_int, metavar="N", help="default parallelism (tool processes at once)")
    render.add_argument("--config", metavar="FILE", help="default config (JSON or TOML)")
    render.add_argument("--project", metavar="NAME", help="the project's name, for the docstring")
    render.add_argument("-o", "--output", metavar="PATH", help="where to write (default: stdout)")
    return parser


def _render(args: argparse.Namespace) -> int:
    from pathlib import Path

    from memo.cli.output import write_text
    from memo.cli.render import render_orchestrator
    from memo.cli.run import dimension_names
    from memo.engine import EngineError, plugins
    from memo.engine import config as engine_config

    names = dimension_names(args.dimension)
    try:
        known = plugins.installed()
        validators = None if names is None else plugins.resolve(names, known)
        config = None
        if args.config is not None:
            raw = engine_config.read_file(Path(args.config))
            engine_config.check(raw, validators or plugins.default_validators(known), known)
            config = raw
    except EngineError as exc:
        raise UsageError(one_line(exc)) from None
    try:
        source = render_orchestrator(validators, args.jobs, config, args.project)
    except ValueError as exc:
        raise UsageError(one_line(exc)) from None
    write_text(source, args.output)
    return 0


def _dispatch(args: argparse.Namespace, parser: argparse.ArgumentParser, found: Attempt | None = None) -> int:
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.command == "run":
        from memo.cli.run import run

        return run(args, attempt=found)
    if args.command == "cache":
        from memo.cli.cache_commands import cache

        return cache(args)
    if args.command == "explain":
        from memo.cli.explain_command import explain

        return explain(args)
    return _render(args)


def guarded(call: Callable[[], int]) -> int:
    """``call()``, with a usage error as one line and exit 2, and Ctrl-C or SIGTERM as one line and 130 or 143.

    A signal kills every process the run started and exits at once, without unwinding
    asyncio (``memo.validators._shutdown``): that unwinding is where runs used to hang.
    """
    from memo.validators._shutdown import exit_on_signals

    try:
        with exit_on_signals():
            return int(call())
    except _ENDINGS as exc:
        return _ended(exc)


_ENDINGS = (UsageError, KeyboardInterrupt, BrokenPipeError)
"""What ends any command the same way, with a line and an exit status instead of a traceback."""


def _ended(exc: BaseException) -> int:
    """The exit status for one of ``_ENDINGS``, its line printed."""
    if isinstance(exc, UsageError):
        print(f"memo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, KeyboardInterrupt):
        print("memo: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    # A closed pipe: the reader left (``memo cache stats | head``), not an error worth a traceback.
    from memo.cli.output import reader_left

    reader_left()
    return EXIT_PASSED


def main(argv: Sequence[str] | None = None) -> int:
    """The ``memo`` command (and ``python -m memo``).

    ``memo run`` is first offered to the fast path (``memo.cli.fastpath``), its command
    line read without building argparse's parser when it is plainly spelt.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    found = None
    if words[:1] == ["run"]:
        from memo.cli import fastpath

        quick = fastpath.quick_args(words[1:])
        if quick is not None:
            answered = _fast(quick)
            if isinstance(answered, int):
                return answered
            found = answered
    parser = build_parser()
    args = parser.parse_args(words)
    if args.command == "run" and found is None:
        answered = _fast(args)
        if isinstance(answered, int):
            return answered
        found = answered
    return guarded(lambda: _dispatch(args, parser, found))


def _fast(args: argparse.Namespace) -> int | Attempt | None:
    """``memo run`` answered from its manifest (``memo.cli.fastpath``), before anything heavy is imported.

    The exit status when the tree is unchanged; else what the attempt found, for the run.
    Nothing here starts a process, so Ctrl-C and a closed pipe are handled as ``guarded``
    handles them, without its signal handlers.
    """
    from memo.cli import fastpath

    try:
        try:
            found = fastpath.attempt(args)
            report = fastpath.stored_report(found) if found is not None and found.servable else None
        except Exception:  # the manifest is only ever a shortcut: the checks answer instead
            return None
        if found is not None and report is not None:
            return fastpath.serve(found, report, args)
    except _ENDINGS as exc:
        return _ended(exc)
    return found


def exit_now(status: int) -> NoReturn:
    """End the ``memo`` process with ``status`` once the command is done, skipping interpreter teardown.

    Everything that matters is finished by then: the report is written, the cache closed,
    the worker pool stopped. What teardown would still do is only a hazard:
    concurrent.futures' exit hook wakes pool threads through pipes that may already be
    gone, which now and then printed an "Exception ignored ... Bad file descriptor"
    traceback after a clean run. multiprocessing's own finalizers still run, so its
    resource tracker has nothing left to warn about.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    util = sys.modules.get("multiprocessing.util")  # imported only by a run that used the pool
    if util is not None:
        with contextlib.suppress(Exception):
            util._run_finalizers(0)
    os._exit(status)


def command() -> NoReturn:
    """The ``memo`` console script: ``main`` as a process, ended by ``exit_now``."""
    exit_now(main())


def run_main(
    argv: Sequence[str] | None = None,
    *,
    orchestrator: type[Engine] | None = None,
    prog: str = "orchestrator.py",
    project: str | None = None,
) -> int:
    """``memo run`` alone, for a rendered ``orchestrator.py``: its options, with that class's defaults."""
    from memo.cli.run import run
    from memo.engine import Engine

    title = f"Validate {project}'s tree" if project else "Validate a code tree"
    parser = _Parser(prog=prog, description=f"{title} (the same as `memo run`).")
    add_run_arguments(parser)
    args = parser.parse_args(argv)
    return guarded(lambda: run(args, orchestrator or Engine))
