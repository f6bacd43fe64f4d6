"""The ``memo`` command: validate a tree, inspect or clear the cache, render the orchestrator.

Exit codes: 0 everything passed, 1 findings (or a check that could not run), 2 a usage
error (bad arguments, a missing path, an unknown dimension, a bad config), with one
line on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pprint
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn, TextIO

import memo

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

TEMPLATE = Path(__file__).with_name("orchestrator.py.j2")
"""The single source of ``orchestrator.py``; installed next to this module (see pyproject)."""

FORMATS = ("text", "json", "sarif")


class UsageError(Exception):
    """Bad input from the user: reported on one line, exit status 2."""


# -- config -----------------------------------------------------------------------------------


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``; tables (dimension sections) merge key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_config_file(path: Path) -> dict[str, Any]:
    """A JSON (``.json``) or TOML config file; a pyproject-style ``[tool.memo]`` table if it has one."""
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, TOMLDecodeError are ValueErrors
        raise UsageError(f"cannot read config {path}: {_one_line(exc)}") from None
    if not isinstance(data, dict):
        raise UsageError(f"config {path} must hold a table/object, not {type(data).__name__}")
    tool = data.get("tool")
    if isinstance(tool, dict) and isinstance(tool.get("memo"), dict):
        return dict(tool["memo"])
    return data


def pyproject_config(root: Path) -> dict[str, Any]:
    """``[tool.memo]`` of ``root/pyproject.toml``, or an empty dict."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {_one_line(exc)}") from None
    section = data.get("tool", {}).get("memo", {})
    if not isinstance(section, dict):
        raise UsageError(f"{path}: [tool.memo] must be a table")
    return section


def load_config(root: Path, config_file: str | None, base: Mapping[str, Any]) -> dict[str, Any]:
    """``base``, then ``[tool.memo]`` from the root's pyproject.toml, then ``--config`` on top."""
    config = merge(base, pyproject_config(root))
    if config_file is not None:
        config = merge(config, read_config_file(Path(config_file)))
    return config


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# -- rendering the orchestrator -------------------------------------------------------------------


def _pyrepr(value: Any) -> str:
    """A Python literal for ``value``, stable across runs (sorted keys)."""
    return pprint.pformat(value, width=100, sort_dicts=True)


def render_orchestrator(
    dimensions: Sequence[str] | None = None,
    jobs: int | None = None,
    config: Mapping[str, Any] | None = None,
) -> str:
    """The source of ``orchestrator.py`` with these defaults; with none, the shipped file exactly."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE.parent)),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # nosec B701 - renders Python source, not HTML
    )
    environment.filters["pyrepr"] = _pyrepr
    template = environment.get_template(TEMPLATE.name)
    return template.render(
        dimensions=None if dimensions is None else tuple(dimensions),
        jobs=jobs,
        config={} if config is None else dict(config),
    )


# -- arguments --------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _dimension_names(values: Sequence[str] | None) -> list[str] | None:
    """``--dimension a --dimension b,c`` as ``[a, b, c]``; None when none were given."""
    if not values:
        return None
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    if not names:
        raise UsageError("--dimension needs at least one name")
    return names


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to validate (default: .)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    parser.add_argument("--no-cache", action="store_true", help="validate everything; read and write no cache")
    parser.add_argument(
        "--dimension",
        action="append",
        metavar="NAME",
        help="run only this dimension (repeatable, or comma-separated)",
    )
    parser.add_argument("--jobs", type=_positive_int, metavar="N", help="checks run at once")
    parser.add_argument("--config", metavar="FILE", help="JSON or TOML config, over [tool.memo] in pyproject.toml")
    parser.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument("--cache-dir", metavar="DIR", help="cache directory (default: $VALIDATION_CACHE_DIR, ...)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="memo", description="Memoized validation of a code tree.")
    parser.add_argument("--version", action="version", version=f"memo {memo.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="validate files and report")
    _add_run_arguments(run)

    cache = commands.add_parser("cache", help="inspect or clear the cache")
    cache_commands = cache.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    stats = cache_commands.add_parser("stats", help="entries, size and directory")
    stats.add_argument("--format", choices=("text", "json"), default="text")
    stats.add_argument("--cache-dir", metavar="DIR")
    clear = cache_commands.add_parser("clear", help="remove every entry")
    clear.add_argument("--cache-dir", metavar="DIR")

    render = commands.add_parser("render", help="write orchestrator.py from its template")
    render.add_argument("--dimensions", action="append", metavar="NAMES", help="default dimensions, comma-separated")
    render.add_argument("--jobs", type=_positive_int, metavar="N", help="default concurrency")
    render.add_argument("--config", metavar="FILE", help="default config (JSON or TOML)")
    render.add_argument("-o", "--output", metavar="PATH", help="where to write (default: stdout)")
    return parser


# -- commands ---------------------------------------------------------------------------------


def _root_and_paths(paths: Sequence[str]) -> tuple[Path, list[str] | None]:
    """The project root for these paths, and the paths to narrow the run to (None: all of it).

    One directory is its own root; otherwise the root is the current directory, or the
    paths' common directory when some lie outside it.
    """
    if not paths:
        return Path.cwd(), None
    if len(paths) == 1 and os.path.isdir(paths[0]):
        return Path(os.path.abspath(paths[0])), None
    absolute = [os.path.abspath(path) for path in paths]
    cwd = os.getcwd()
    if all(path == cwd or path.startswith(cwd.rstrip(os.sep) + os.sep) for path in absolute):
        return Path(cwd), absolute
    common = os.path.commonpath(absolute)
    if not os.path.isdir(common):
        common = os.path.dirname(common)
    return Path(common), absolute


def _progress_bar(enabled: bool) -> Any:
    """A rich progress bar on stderr, or None when stdout or stderr is not a terminal."""
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("validating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files, {task.fields[hits]} cache hits"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _write(text: str, output: str | None) -> None:
    if output is None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader left (``memo run | head``): not an error worth a traceback.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {_one_line(exc)}") from None


def _stream(write: Callable[[TextIO], None], output: str | None) -> None:
    """``_write`` for a report written piece by piece, so it is never one string in memory."""
    if output is None:
        try:
            write(sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    try:
        with open(output, "w", encoding="utf-8") as out:
            write(out)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {_one_line(exc)}") from None


def _run(args: argparse.Namespace, module: ModuleType) -> int:
    import memo_report

    root, paths = _root_and_paths(args.paths)
    config = load_config(root, args.config, module.DEFAULT_CONFIG)
    names = _dimension_names(args.dimension)
    try:
        validators = None if names is None else module.resolve(names)
        orchestrator = module.ValidationOrchestrator(
            root,
            config,
            validators,
            jobs=args.jobs,
            cache_dir=args.cache_dir,
            use_cache=not args.no_cache,
        )
    except ValueError as exc:  # an unknown dimension, a bad config (OrchestratorError)
        raise UsageError(_one_line(exc)) from None
    bar = _progress_bar(sys.stdout.isatty() and sys.stderr.isatty())
    try:
        if bar is None:
            report = asyncio.run(orchestrator.run(paths))
        else:
            with bar:
                task = bar.add_task("validating", total=None, hits=0)

                def show(progress: Any) -> None:
                    bar.update(task, completed=progress.files_done, total=progress.files_total, hits=progress.hits)

                orchestrator.progress = show
                report = asyncio.run(orchestrator.run(paths))
    except module.OrchestratorError as exc:
        raise UsageError(_one_line(exc)) from None
    finally:
        orchestrator.close()
        # Stop the worker pool now, not in the interpreter's exit hooks, which would wait
        # on a worker that never returns.
        from validators import shutdown_workers

        shutdown_workers()
    if args.format == "text":
        _write(memo_report.to_text(report), args.output)
    elif args.format == "json":
        _stream(lambda out: memo_report.write_json(report, out), args.output)
    else:
        _write(memo_report.FORMATTERS[args.format](report), args.output)
    return 0 if report.passed else 1


def _cache(args: argparse.Namespace, module: ModuleType) -> int:
    with module.ValidationOrchestrator(validators=[], cache_dir=args.cache_dir) as orchestrator:
        if args.cache_command == "clear":
            removed = orchestrator.clear_cache()
            print(f"removed {removed} entr{'y' if removed == 1 else 'ies'}")
            return 0
        stats = orchestrator.cache_stats()
    if args.format == "json":
        print(json.dumps(stats, indent=2))
    else:
        for key, value in stats.items():
            print(f"{key}: {value}")
    return 0


def _render(args: argparse.Namespace, module: ModuleType) -> int:
    names = _dimension_names(args.dimensions)
    config = None
    try:
        if names is not None:
            module.resolve(names)
        if args.config is not None:
            config = module.check_config(read_config_file(Path(args.config)))
    except ValueError as exc:
        raise UsageError(_one_line(exc)) from None
    _write(render_orchestrator(names, args.jobs, config), args.output)
    return 0


def _orchestrator_module() -> ModuleType:
    import orchestrator

    return orchestrator


def _dispatch(args: argparse.Namespace, parser: argparse.ArgumentParser, module: ModuleType | None) -> int:
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    module = module or _orchestrator_module()
    if args.command == "run":
        return _run(args, module)
    if args.command == "cache":
        return _cache(args, module)
    return _render(args, module)


def _guarded(call: Any) -> int:
    from validators._shutdown import exit_on_signals

    try:
        with exit_on_signals():  # Ctrl-C, SIGTERM: kill every child, one line, exit 130/143
            return int(call())
    except UsageError as exc:
        print(f"memo: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("memo: interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """The ``memo`` command (and ``python -m memo``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return _guarded(lambda: _dispatch(args, parser, None))


def run_main(argv: Sequence[str] | None = None, *, orchestrator: ModuleType | None = None) -> int:
    """``memo run`` alone, for ``python orchestrator.py``: its arguments, with ``orchestrator``'s defaults."""
    parser = _Parser(prog="orchestrator.py", description="Validate a code tree (the same as `memo run`).")
    _add_run_arguments(parser)
    args = parser.parse_args(argv)
    module = orchestrator or _orchestrator_module()
    return _guarded(lambda: _run(args, module))


if __name__ == "__main__":
    sys.exit(main())
