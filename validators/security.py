"""``security``: bandit's security checks on each Python file.

Findings carry bandit's test id (``B101``, ``B307``, ...) and map its severity: HIGH ->
error, MEDIUM -> warning, LOW -> info. Any finding fails the file, as bandit's own exit
status does. A file bandit cannot parse gets one ``unparsable`` finding.

bandit runs at the project root with the project's own bandit configuration, as
``bandit -r .`` would there (see ``memo.validators._bandit_config``): the root's ``.bandit``
file, ``[tool.bandit]`` in ``pyproject.toml`` (passed as ``-c pyproject.toml``), its
``skips``, ``tests`` and ``exclude_dirs``. A file that configuration excludes is not
checked at all: it is absent from the results (``memo.validators._bandit_files``).
memo's own options below apply on top.

Options (config section ``[security]``):

- ``skip``: test ids to skip, in addition to the project's (bandit's ``--skip``), e.g. ``["B101"]``.
- ``tests``: only run these test ids, in addition to the project's (``--tests``).
- ``severity``: report only issues of at least this severity: ``low``, ``medium`` or ``high``.
- ``confidence``: report only issues of at least this confidence: ``low``, ``medium`` or ``high``.
- ``timeout``: seconds one bandit process may run before it is killed (default 60).

The key holds bandit's version, the interpreter bandit parses with (its grammar decides
what parses), the versions of any third-party bandit plugins, and a digest of the
project's bandit configuration (``cache_context()``).

bandit is single-threaded Python that takes ~0.2 s to start, so batches are large and
split into one chunk per core.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from memo import ValidationResult, cached_validation
from memo.validators import _bandit_config, _context, _options, _process, _tools
from memo.validators._bandit_files import BanditFilesError, bandit_files
from memo.validators._batched import BatchedValidator
from memo.validators._fileset import FileSet
from memo.validators._outcome import Outcome, RawFinding
from memo.validators._tools import Tool

_SEVERITY = {"HIGH": "error", "MEDIUM": "warning", "LOW": "info"}
_LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class SecuritySettings:
    """How one bandit process is run: where, with which arguments, under which config digest."""

    root: str
    args: tuple[str, ...]
    digest: str


@functools.cache
def _plugins() -> str:
    """Third-party distributions that add bandit checks, with their versions: they change findings."""
    found = set()
    for group in ("bandit.plugins", "bandit.blacklists"):
        for entry in _context.entry_points(group):
            if entry.module.partition(".")[0] == "bandit":
                continue  # bandit's own checks: asking the distribution its name parses its metadata
            dist = entry.dist
            if dist is not None and dist.name.lower() != "bandit":
                found.add(f"{dist.name} {dist.version}")
    return ", ".join(sorted(found))


def _argument(path: str, root: str) -> str:
    """The path as ``bandit -r .`` in ``root`` spells it (``./pkg/a.py``), so its exclusions match."""
    relative = os.path.relpath(path, root)
    return path if relative.startswith(os.pardir) else os.path.join(os.curdir, relative)


def _finding(entry: Mapping[str, Any]) -> RawFinding:
    return (
        int(entry.get("line_number") or 1),
        int(entry.get("col_offset") or 0) + 1,
        str(entry.get("test_id") or "bandit"),
        f"{entry.get('issue_text', '')} (confidence {str(entry.get('issue_confidence', '')).lower()})",
        _SEVERITY.get(str(entry.get("issue_severity", "")).upper(), "warning"),
    )


def parse_report(stdout: bytes, names: Mapping[str, str]) -> dict[str, Outcome]:
    """bandit's JSON report, split per file; ``ValueError`` if it is not one.

    ``names`` maps each name bandit was given (normalised) to the path the result is for.
    """
    report = json.loads(stdout)
    if not isinstance(report, dict) or not isinstance(report.get("results"), list):
        raise ValueError("not a bandit JSON report")

    def find(name: object) -> str | None:
        return names.get(os.path.normpath(str(name or "")))

    found: dict[str, list[RawFinding]] = {}
    for entry in report["results"]:
        path = find(entry.get("filename"))
        if path is None:
            raise ValueError(f"bandit reported a file it was not given: {entry.get('filename')!r}")
        found.setdefault(path, []).append(_finding(entry))
    for error in report.get("errors") or []:
        path = find(error.get("filename"))
        if path is not None:
            reason = str(error.get("reason", "bandit could not check this file"))
            found.setdefault(path, []).append((1, 1, "unparsable", reason, "error"))
    return {path: Outcome(tuple(sorted(rows))) for path, rows in found.items()}


class SecurityValidator(BatchedValidator):
    """bandit's checks; one finding per issue, with bandit's test id."""

    dimension: ClassVar[str] = "security"
    version: ClassVar[str] = "2"
    tool: ClassVar[str] = "bandit"
    suffixes: ClassVar[tuple[str, ...]] = (".py", ".pyw")
    option_checks: ClassVar[Mapping[str, _options.OptionCheck] | None] = {
        "skip": _options.string_list,
        "tests": _options.string_list,
        "severity": _options.choice_check(_LEVELS),
        "confidence": _options.choice_check(_LEVELS),
        "timeout": _options.timeout_check,
    }
    max_batch: ClassVar[int] = 256
    min_chunk: ClassVar[int] = 16
    _project: _bandit_config.BanditConfig | None = None

    @classmethod
    def file_set(cls, root: Path, config: Mapping[str, Any], candidates: Sequence[Path]) -> FileSet | None:
        """The ``candidates`` ``bandit -r .`` at ``root`` checks (see ``memo.validators._bandit_files``)."""
        if _tools.find_tool(cls.tool) is None:
            return None
        root_path = os.path.abspath(root)
        if _bandit_config.project_config(root_path).problem is not None:
            return None  # each file's check says what is wrong
        try:
            return bandit_files(root_path, (str(path) for path in candidates))
        except BanditFilesError:
            return None

    def cache_identity(self) -> str:
        """bandit's version, the interpreter it parses with, and any third-party bandit plugins."""
        plugins = _plugins()
        identity = f"{super().cache_identity()} on {_context.interpreter()}"
        return f"{identity} with {plugins}" if plugins else identity

    def project_root(self) -> str:
        """Where bandit runs: the project root, or the working directory without one."""
        return os.path.abspath(self.root if self.root is not None else os.curdir)

    def project_config(self) -> _bandit_config.BanditConfig:
        """The project's bandit configuration, read once per instance so key and run agree."""
        config = self._project
        if config is None:
            root = self.project_root()
            config = _context.observed(("memo.bandit-config", root), lambda: _bandit_config.project_config(root))
            self._project = config
        return config

    def cache_context(self) -> str:
        """A digest of the project's bandit configuration (``.bandit``, ``[tool.bandit]``, ``-c`` file)."""
        return f"bandit config {self.project_config().digest}"

    def cache_witnesses(self) -> tuple[str, ...]:
        """The files the bandit configuration is read from: ``.bandit``, ``pyproject.toml``, a ``-c`` file."""
        return _bandit_config.sources(self.project_root(), self.project_config())

    def settings(self) -> SecuritySettings:
        options, dimension = self.options(), self.dimension
        config = self.project_config()
        if config.problem is not None:
            raise _options.OptionError(config.problem)
        args: list[str] = list(config.config_args)
        for name, flag, project in (("skip", "--skip", config.skips), ("tests", "--tests", config.tests)):
            ids = dict.fromkeys((*project, *_options.string_list(options, dimension, name)))
            if ids:
                args.append(f"{flag}={','.join(ids)}")
        for name, flag in (("severity", "--severity-level"), ("confidence", "--confidence-level")):
            level = _options.choice(options, dimension, name, _LEVELS)
            if level is not None:
                args.append(f"{flag}={level}")
        return SecuritySettings(self.project_root(), tuple(args), config.digest)

    @classmethod
    async def check_chunk(
        cls, tool: Tool, paths: Sequence[str], settings: SecuritySettings, timeout: float
    ) -> Mapping[str, Outcome]:
        root = settings.root
        arguments = {path: _argument(path, root) for path in paths}
        names = {os.path.normpath(name): path for path, name in arguments.items()}
        argv = [*tool.argv, "--format", "json", "--quiet", *settings.args, "--", *arguments.values()]
        completed = await _process.run(argv, timeout=timeout, cwd=root)
        try:
            if completed.returncode not in (0, 1):
                raise ValueError("unexpected exit status")
            found = parse_report(completed.stdout, names)
        except (ValueError, AttributeError, TypeError):
            raise _process.ToolError(_process.describe_failure("bandit", completed)) from None
        if _bandit_config.fresh_config(root).digest != settings.digest:
            # Stored, this result would sit under the old configuration's key.
            raise _process.ToolError("bandit's configuration changed while bandit ran; run again")
        return found

    @cached_validation()
    async def validate(self) -> ValidationResult:
        return await self.check()
