"""A declared checker's table (``[tool.memo.checkers.NAME]``), read into a frozen ``CheckerSpec``.

Every key is checked when the run starts, so a bad declaration is one line naming the
checker and the key, never a failure per file: a missing ``command``, an unknown
``format``, a ``pattern`` that does not compile or lacks the groups a finding needs, a
``fields`` table without ``path``, ``line`` and ``code``, a misspelt key (with the
closest valid one).
"""

from __future__ import annotations

import difflib
import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FILES_PLACEHOLDER = "{files}"
"""An element of ``command`` that stands for the files checked; without one, they are appended."""

ROOTS_PLACEHOLDER = "{import_roots}"
"""In ``env`` values (and ``command`` elements): the project's import roots, joined by ``os.pathsep``."""

FORMATS = ("sarif", "json", "regex")
READS = ("file", "imports")
REQUIRED_GROUPS = ("path", "line", "code")
FINDING_FIELDS = ("path", "line", "column", "code", "message", "severity")
SEVERITIES = ("error", "warning", "info")

DEFAULT_SEVERITIES: Mapping[str, str] = {
    "error": "error",
    "fatal": "error",
    "failure": "error",
    "critical": "error",
    "high": "error",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "note": "info",
    "info": "info",
    "convention": "info",
    "refactor": "info",
    "style": "info",
    "low": "info",
    "none": "info",
}
"""How a tool's own severity words map to memo's, unless the declaration's ``severities`` says otherwise."""

KEYS = (
    "batch",
    "column_base",
    "command",
    "default",
    "env",
    "fields",
    "files",
    "format",
    "ok_exit_codes",
    "pattern",
    "reads",
    "severities",
    "stream",
    "timeout",
    "version",
    "witnesses",
)


class DeclarationError(ValueError):
    """A checker's declaration is unusable; the message is one line naming the checker and the key."""


@dataclass(frozen=True)
class CheckerSpec:
    """What a declared checker runs, on which files, how its output is read, and what else it reads."""

    name: str
    command: tuple[str, ...]
    files: tuple[str, ...]
    format: str
    pattern: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    """``(finding field, where in each JSON result)``; ``results`` says where the list of results is."""
    column_base: int = 1
    severities: tuple[tuple[str, str], ...] = ()
    ok_exit_codes: tuple[int, ...] = (0, 1)
    version: tuple[str, ...] = ()
    witnesses: tuple[str, ...] = ()
    reads: str = "file"
    batch: bool = True
    stream: str = "stdout"
    timeout: float = 600.0
    default: bool = True
    env: tuple[tuple[str, str], ...] = ()
    """Environment variables set for the tool (``{import_roots}`` substituted); the rest is inherited."""
    table: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """The table as declared: the config part of every cache key of this checker."""

    @property
    def executable(self) -> str:
        return self.command[0]

    @property
    def version_command(self) -> tuple[str, ...]:
        return self.version or (self.command[0], "--version")

    def severity(self, word: str) -> str:
        """memo's severity for the tool's word (``warning`` when neither table knows it)."""
        lowered = word.strip().lower()
        for name, value in self.severities:
            if name.lower() == lowered:
                return value
        return DEFAULT_SEVERITIES.get(lowered, "warning")


def _where(name: str, key: str) -> str:
    return f"config [checkers.{name}] {key!r}"


def _strings(name: str, key: str, value: Any, *, allow_text: bool = False) -> tuple[str, ...]:
    if allow_text and isinstance(value, str):
        try:
            value = shlex.split(value)
        except ValueError as exc:
            raise DeclarationError(f"{_where(name, key)} cannot be split into words: {exc}") from None
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(item, str) and item for item in value):
        raise DeclarationError(f"{_where(name, key)} must be a non-empty list of strings, not {value!r}")
    return tuple(value)


def _choice(name: str, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise DeclarationError(f"{_where(name, key)} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _flag(name: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise DeclarationError(f"{_where(name, key)} must be true or false, not {value!r}")
    return value


def _exit_codes(name: str, value: Any) -> tuple[int, ...]:
    """Integers, or ``"a-b"`` ranges (pylint's bit-mask statuses are ``"0-31"``)."""
    codes: list[int] = []
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item < 256:
            codes.append(item)
            continue
        match = re.fullmatch(r"(\d+)-(\d+)", item) if isinstance(item, str) else None
        if match is None or not int(match[1]) <= int(match[2]) < 256:
            raise DeclarationError(
                f'{_where(name, "ok_exit_codes")} must list exit statuses (0-255) or ranges like "0-31", not {item!r}'
            )
        codes.extend(range(int(match[1]), int(match[2]) + 1))
    if not codes:
        raise DeclarationError(f"{_where(name, 'ok_exit_codes')} must list at least one exit status")
    return tuple(sorted(set(codes)))


def _pattern(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise DeclarationError(f"{_where(name, 'pattern')} must be a regular expression with named groups")
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise DeclarationError(f"{_where(name, 'pattern')} does not compile: {exc}") from None
    missing = [group for group in REQUIRED_GROUPS if group not in compiled.groupindex]
    if missing:
        raise DeclarationError(
            f"{_where(name, 'pattern')} has no named group {', '.join(f'(?P<{g}>...)' for g in missing)}; "
            f"a finding needs {', '.join(REQUIRED_GROUPS)} (column, message, severity are optional)"
        )
    return value


def _fields(name: str, value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise DeclarationError(
            f"{_where(name, 'fields')} must be a table naming where each finding's path, line and code are "
            '(e.g. fields = { results = "messages", path = "path", line = "line", code = "messageId" })'
        )
    allowed = ("results", *FINDING_FIELDS)
    for key, item in value.items():
        if key not in allowed:
            raise DeclarationError(f"{_where(name, 'fields')} has no field {key!r}{_closest(key, allowed)}")
        if not isinstance(item, str) or (not item and key != "results"):
            raise DeclarationError(f"{_where(name, 'fields')} {key!r} must be a dotted key, not {item!r}")
    missing = [key for key in REQUIRED_GROUPS if key not in value]
    if missing:
        raise DeclarationError(f"{_where(name, 'fields')} must name {', '.join(missing)} (where each result holds it)")
    return tuple(sorted(value.items()))


def _severities(name: str, value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping) or not all(
        isinstance(key, str) and item in SEVERITIES for key, item in value.items()
    ):
        raise DeclarationError(
            f"{_where(name, 'severities')} must map the tool's words to one of {', '.join(SEVERITIES)}, not {value!r}"
        )
    return tuple(sorted(value.items()))


def _env(name: str, value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping) or not all(
        isinstance(key, str) and key and "=" not in key and isinstance(item, str) for key, item in value.items()
    ):
        raise DeclarationError(f"{_where(name, 'env')} must be a table of variable names to strings, not {value!r}")
    return tuple(sorted(value.items()))


def _timeout(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise DeclarationError(f"{_where(name, 'timeout')} must be a positive number of seconds, not {value!r}")
    return float(value)


def _closest(key: str, candidates: tuple[str, ...]) -> str:
    match = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else f" (known: {', '.join(candidates)})"


def _shape(name: str, table: Any) -> Mapping[str, Any]:
    """The table, once its name, its type, its keys and its command's presence are right."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name):
        raise DeclarationError(f"config [checkers]: {name!r} is not a usable checker name (letters, digits, - and _)")
    if not isinstance(table, Mapping):
        raise DeclarationError(f"config [checkers.{name}] must be a table, not {table!r}")
    for key in table:
        if key not in KEYS:
            raise DeclarationError(f"config [checkers.{name}] has no key {key!r}{_closest(key, KEYS)}")
    if "command" not in table:
        raise DeclarationError(f'config [checkers.{name}] has no command (write command = ["{name}", "{{files}}"])')
    return table


def _output_options(
    name: str, table: Mapping[str, Any], form: str
) -> tuple[str | None, tuple[tuple[str, str], ...], int]:
    """``pattern`` (regex only), ``fields`` (json only) and ``column_base``: how the output is read."""
    pattern = _pattern(name, table.get("pattern")) if form == "regex" else None
    if form != "regex" and "pattern" in table:
        raise DeclarationError(f'{_where(name, "pattern")} applies only to format = "regex"')
    fields = _fields(name, table.get("fields")) if form == "json" else ()
    if form != "json" and "fields" in table:
        raise DeclarationError(f'{_where(name, "fields")} applies only to format = "json"')
    column_base = table.get("column_base", 1)
    if column_base not in (0, 1) or isinstance(column_base, bool):
        raise DeclarationError(f"{_where(name, 'column_base')} must be 0 or 1, not {column_base!r}")
    return pattern, fields, int(column_base)


def parse(name: str, table: Any) -> CheckerSpec:
    """``[tool.memo.checkers.NAME]`` as a ``CheckerSpec``; ``DeclarationError`` for the first mistake."""
    table = _shape(name, table)
    command = _strings(name, "command", table["command"], allow_text=True)
    if command[0] == FILES_PLACEHOLDER:
        raise DeclarationError(f"{_where(name, 'command')} must start with the program to run, not {{files}}")
    if "files" not in table:
        raise DeclarationError(f'config [checkers.{name}] has no files (write files = ["*.py"], gitignore-style globs)')
    if "format" not in table:
        raise DeclarationError(f"config [checkers.{name}] has no format (one of {', '.join(FORMATS)})")
    form = _choice(name, "format", table["format"], FORMATS)
    pattern, fields, column_base = _output_options(name, table, form)
    spec = CheckerSpec(
        name=name,
        command=command,
        files=_strings(name, "files", table["files"]),
        format=form,
        pattern=pattern,
        fields=fields,
        column_base=column_base,
        severities=_severities(name, table["severities"]) if "severities" in table else (),
        ok_exit_codes=_exit_codes(name, table["ok_exit_codes"]) if "ok_exit_codes" in table else (0, 1),
        version=_strings(name, "version", table["version"], allow_text=True) if "version" in table else (),
        witnesses=_strings(name, "witnesses", table["witnesses"]) if "witnesses" in table else (),
        reads=_choice(name, "reads", table.get("reads", "file"), READS),
        batch=_flag(name, "batch", table.get("batch", True)),
        stream=_choice(name, "stream", table.get("stream", "stdout"), ("stdout", "stderr")),
        timeout=_timeout(name, table.get("timeout", 600.0)),
        default=_flag(name, "default", table.get("default", True)),
        env=_env(name, table.get("env", {})),
        table=dict(table),
    )
    uses_roots = any(ROOTS_PLACEHOLDER in item for item in (*spec.command, *(value for _, value in spec.env)))
    if uses_roots and spec.reads != "imports":
        raise DeclarationError(
            f'config [checkers.{name}] uses {ROOTS_PLACEHOLDER} but does not declare reads = "imports"'
        )
    return spec
