"""Run ruff over a chunk of files with JSON output and split its diagnostics per file.

Shared by ``lint`` (``ruff check``) and ``format`` (``ruff format --check``): both print
the same JSON diagnostic list, one entry per finding, each naming its file.

The project's own ruff configuration is honoured, and made part of the cache key: the
config file at the project root (``.ruff.toml``, ``ruff.toml``, or ``pyproject.toml``
with a ``[tool.ruff]`` table, in ruff's order of precedence) is passed with ``--config``,
so every file is checked under that one file, and its content digest goes into the
validator's identity. Without one, ruff runs ``--isolated``: only memo's own (hashed)
options apply, never a setting memo did not hash.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo import hash_bytes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from typing import ClassVar

from validators import _options, _process
from validators._batched import BatchedValidator, PathIndex
from validators._outcome import Outcome, RawFinding
from validators._tools import Tool

_SEVERITIES = {"error": "error", "warning": "warning", "info": "info"}


def _finding(entry: Mapping[str, Any]) -> RawFinding:
    location = entry.get("location") or {}
    code = entry.get("code") or entry.get("name") or "ruff"
    severity = _SEVERITIES.get(str(entry.get("severity", "error")).lower(), "error")
    return (
        int(location.get("row") or 1),
        int(location.get("column") or 1),
        str(code),
        str(entry.get("message", "")),
        severity,
    )


_CONFIG_NAMES = (".ruff.toml", "ruff.toml", "pyproject.toml")


@dataclass(frozen=True)
class ProjectConfig:
    """The ruff config file that applies to a project, and the digest of its bytes."""

    path: str
    digest: str


_configs: dict[str, tuple[tuple[tuple[int, int, int], ...], ProjectConfig | None]] = {}


def _signature(root: str) -> tuple[tuple[int, int, int], ...]:
    signature = []
    for name in _CONFIG_NAMES:
        try:
            info = os.stat(os.path.join(root, name))
        except OSError:
            signature.append((0, 0, 0))
        else:
            signature.append((info.st_size, info.st_mtime_ns, info.st_ino))
    return tuple(signature)


def project_config(root: str | os.PathLike[str] | None) -> ProjectConfig | None:
    """The ruff config file at ``root``, or None. Re-read only when a candidate's stat changes."""
    if root is None:
        return None
    base = os.path.abspath(root)
    signature = _signature(base)
    known = _configs.get(base)
    if known is not None and known[0] == signature:
        return known[1]
    found = None
    for name in _CONFIG_NAMES:
        path = os.path.join(base, name)
        try:
            data = Path(path).read_bytes()
        except OSError:
            continue
        if name == "pyproject.toml":
            try:
                has_ruff = "ruff" in tomllib.loads(data.decode("utf-8")).get("tool", {})
            except (ValueError, UnicodeDecodeError):
                has_ruff = False  # ruff would reject it too; better to ignore it than fail every file
            if not has_ruff:
                continue
        found = ProjectConfig(path, hash_bytes(data))
        break
    _configs[base] = (signature, found)
    return found


def config_args(root: str | os.PathLike[str] | None, use_project_config: bool) -> tuple[str, ...]:
    """``--config FILE`` for the project's ruff config, else ``--isolated``."""
    found = project_config(root) if use_project_config else None
    return ("--isolated",) if found is None else ("--config", found.path)


def config_identity(root: str | os.PathLike[str] | None, use_project_config: bool) -> str:
    """What of the project's ruff config a cached result depends on: its path and digest."""
    found = project_config(root) if use_project_config else None
    return "isolated" if found is None else f"config={found.digest}"


async def run_ruff(tool: Tool, subcommand: Sequence[str], paths: Sequence[str], timeout: float) -> dict[str, Outcome]:
    """``ruff <subcommand> --output-format json <paths>``: ``{path: Outcome}`` for files with findings.

    Exit statuses 0-2 all carry a diagnostic list (2 when some file could not be parsed
    or read); anything else, or output that is not that list, is a tool failure.
    ``subcommand`` carries ``--config FILE`` or ``--isolated`` (see ``config_args``);
    ``--no-cache`` stops ruff writing ``.ruff_cache`` into the working directory.
    """
    argv = [*tool.argv, *subcommand, "--no-cache", "--output-format", "json", "--", *paths]
    completed = await _process.run(argv, timeout=timeout)
    try:
        entries = json.loads(completed.stdout) if completed.returncode in (0, 1, 2) else None
    except ValueError:
        entries = None
    if not isinstance(entries, list):
        raise _process.ToolError(_process.describe_failure("ruff", completed))
    index = PathIndex(paths)
    found: dict[str, list[RawFinding]] = {}
    for entry in entries:
        path = index.find(str(entry.get("filename", ""))) if isinstance(entry, dict) else None
        if path is None:
            raise _process.ToolError(f"ruff reported a file it was not given: {entry!r:.200}")
        found.setdefault(path, []).append(_finding(entry))
    return {path: Outcome(tuple(sorted(rows))) for path, rows in found.items()}


class RuffValidator(BatchedValidator):
    """What ``lint`` and ``format`` share: the ruff binary, the project config and common options."""

    suffixes: ClassVar[tuple[str, ...]] = (".py", ".pyi")
    tool: ClassVar[str] = "ruff"
    min_chunk: ClassVar[int] = 64

    def common_args(self) -> list[str]:
        """``--config``/``--isolated``, ``--line-length`` and ``--target-version`` from the options."""
        options, dimension = self.options(), self.dimension
        args = list(config_args(self.root, self._use_project_config()))
        line_length = _options.integer(options, dimension, "line_length", None)
        if line_length is not None:
            args.append(f"--line-length={line_length}")
        target = _options.text(options, dimension, "target_version")
        if target is not None:
            args.append(f"--target-version={target}")
        return args

    def _use_project_config(self) -> bool:
        try:
            return _options.flag(self.options(), self.dimension, "project_config", True)
        except _options.OptionError:
            return True  # settings() reports the bad option as this file's result

    def cache_identity(self) -> str:
        """The ruff version and the project's ruff config: editing either invalidates entries."""
        return f"{super().cache_identity()} {config_identity(self.root, self._use_project_config())}"
