"""``types``: mypy over the whole project tree (project-level, always uncached).

Slow (seconds to minutes), so it is not in ``DEFAULT_DIMENSIONS``; enable it with
``memo run --dimension types`` (or by listing ``"types"`` in the dimensions you run).
mypy runs with the tree as its working directory, so the project's own mypy
configuration (``mypy.ini``, ``setup.cfg``, ``[tool.mypy]`` in ``pyproject.toml``)
applies; the result is never cached, so that configuration need not be in any key.
mypy keeps its own incremental cache (``.mypy_cache`` under the root, or its configured
``cache_dir``), as it does when run by hand, so a second run is much faster.

Findings carry mypy's error code (``return-value``, ``arg-type``, ...) at 1-based line
and column; mypy's notes become severity ``info`` and do not fail the check.

Options (config section ``[types]``):

- ``paths``: what to check, relative to the root (default: the ``files`` of the project's
  mypy configuration when it sets them, as a bare ``mypy`` at the root checks; else ``["."]``).
- ``strict``: pass ``--strict`` (default false).
- ``ignore_missing_imports``: pass ``--ignore-missing-imports`` (default false).
- ``timeout``: seconds mypy may run before it is killed (default 600).
"""

from __future__ import annotations

import configparser
import json
import os
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from memo import Finding, ValidationResult, cached_validation
from memo._toml import tomllib
from memo.validators import _context, _options, _process, _tools
from memo.validators._options import OptionError
from memo.validators.base import Validator

_SEVERITY = {"error": "error", "warning": "warning", "note": "info"}

_CONFIG_NAMES = ("mypy.ini", ".mypy.ini")
_SHARED_CONFIG_NAMES = ("pyproject.toml", "setup.cfg")
"""mypy's own search order (``mypy/defaults.py``): the first file that configures mypy wins;
the shared files count only with a mypy section."""


def config_sets_files(root: str) -> bool:
    """Whether the mypy config found at ``root`` (as mypy finds it there) names the ``files`` to check."""
    for name in (*_CONFIG_NAMES, *_SHARED_CONFIG_NAMES):
        path = os.path.join(root, name)
        if not os.path.isfile(path):
            continue
        try:
            if name == "pyproject.toml":
                with open(path, "rb") as handle:
                    table = tomllib.load(handle).get("tool", {}).get("mypy")
                if not isinstance(table, dict):
                    continue
                return bool(table.get("files"))
            parser = configparser.ConfigParser()
            parser.read(path, encoding="utf-8")
        except (OSError, ValueError, configparser.Error):
            return False  # mypy itself will say what is wrong with it
        if name in _SHARED_CONFIG_NAMES and not parser.has_section("mypy"):
            continue
        return bool(parser.get("mypy", "files", fallback="").strip())
    return False


def _findings(stdout: bytes, root: str) -> list[Finding]:
    findings = []
    for line in stdout.decode("utf-8", "replace").splitlines():
        if not line.startswith("{"):
            continue
        entry: dict[str, Any] = json.loads(line)
        name = str(entry.get("file") or "")
        path = name if os.path.isabs(name) else os.path.join(root, name)
        findings.append(
            Finding(
                path=path,
                line=max(int(entry.get("line") or 1), 1),
                column=max(int(entry.get("column") or 0), 0) + 1,
                code=str(entry.get("code") or "mypy"),
                message=str(entry.get("message", "")),
                severity=_SEVERITY.get(str(entry.get("severity")), "error"),
            )
        )
    return findings


class TypesValidator(Validator):
    """mypy over the tree under ``root``; one finding per diagnostic."""

    dimension: ClassVar[str] = "types"
    version: ClassVar[str] = "1"
    per_file: ClassVar[bool] = False
    tool: ClassVar[str] = "mypy"
    option_checks: ClassVar[Mapping[str, _options.OptionCheck] | None] = {
        "paths": _options.string_list,
        "strict": _options.flag_check(False),
        "ignore_missing_imports": _options.flag_check(False),
        "timeout": _options.timeout_check,
    }
    default_timeout: ClassVar[float] = 600.0

    def cache_identity(self) -> str:
        """mypy's version and the interpreter it runs under (its default ``python_version``)."""
        found = _tools.find_tool(self.tool)
        tool = found.identity if found is not None else f"{self.tool} not installed"
        return f"{tool} on {_context.interpreter()}"

    def command(self, tool: _tools.Tool) -> list[str]:
        """The mypy command line for these options (``OptionError`` for a bad option)."""
        options, dimension = self.options(), self.dimension
        argv = [*tool.argv, "--output", "json", "--no-error-summary", "--no-pretty"]
        if _options.flag(options, dimension, "strict", False):
            argv.append("--strict")
        if _options.flag(options, dimension, "ignore_missing_imports", False):
            argv.append("--ignore-missing-imports")
        paths = _options.string_list(options, dimension, "paths")
        if not paths and self.root is not None and config_sets_files(str(self.root)):
            return argv  # mypy checks the config's ``files``, as a bare ``mypy`` there would
        return [*argv, "--", *(paths or (".",))]

    @cached_validation()
    async def validate(self) -> ValidationResult:
        started = time.perf_counter()
        dimension = self.dimension
        if self.root is None or not self.root.is_dir():
            return ValidationResult(
                dimension, False, error=f"types checks a project tree; {self.root!s} is not a directory"
            )
        tool = _tools.find_tool(self.tool)
        if tool is None:
            return ValidationResult.skipped(dimension, None, f"{self.tool} is not installed")
        try:
            argv = self.command(tool)
            timeout = _options.timeout(self.options(), dimension, self.default_timeout)
        except OptionError as exc:
            return ValidationResult(dimension, False, error=str(exc))
        try:
            # Not limited to a core slot: one long mypy run must not halve the per-file tools.
            completed = await _process.run(argv, timeout=timeout, cwd=self.root, limited=False)
        except _process.ToolError as exc:
            return ValidationResult(dimension, False, error=str(exc))
        try:
            findings = _findings(completed.stdout, str(self.root)) if completed.returncode in (0, 1) else None
        except (ValueError, TypeError, AttributeError):
            findings = None
        if findings is None:
            return ValidationResult(dimension, False, error=_process.describe_failure("mypy", completed))
        return ValidationResult(
            dimension,
            passed=not any(finding.severity == "error" for finding in findings),
            findings=findings,
            duration_s=time.perf_counter() - started,
        )
