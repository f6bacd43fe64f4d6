"""The files ``ruff check .`` and ``ruff format --check .`` check at the project root, asked of ruff.

One ``ruff check --show-files --verbose .`` in the root answers both:

- **lint**: the files ``--show-files`` prints (Python files, stubs, notebooks and the
  ``pyproject.toml`` files ruff reads for its ``RUF2xx`` rules), after ``include``,
  ``extend-include``, ``exclude``, ``extend-exclude`` and ``respect-gitignore`` (ruff
  applies ``.gitignore``, ``.ignore`` and ``.git/info/exclude`` in its walk, so a file
  git tracks but ignores is not checked);
- **format**: every path the walk included (its debug log, ``Included path via
  `include```), less ruff's TOML config files, which ``ruff format`` never formats: Python
  files, stubs, notebooks and Markdown (which the installed ruff formats by default).
  The log is checked against ``--show-files``: a Python file listed there but missing
  from the log means the log could not be read, and no set is given (every discovered
  Python file is then offered to ruff, as before).

Decided by, and so witnessed (``memo.validators._fileset``): the listing of every
directory the walk entered (a file added, removed or renamed), every directory ruff
pruned is left out (the log names them: ``Ignored path via `exclude```, ``ignoring
...``); in each walked directory and each ancestor of the root, ``.gitignore``,
``.ignore``, ruff's three config names and ``.git`` (whether git rules apply); every
ignore file ruff says it opened (``.git/info/exclude`` included); the ``extend`` chain of
every config seen; ruff's user config and git's global excludes file.

Not decided here: ``lint.exclude`` and ``format.exclude`` are applied by ruff to the
files memo passes (``--force-exclude``), so a file they name is in the set and passes.
"""

from __future__ import annotations

import os
import re
import subprocess  # nosec B404 - runs only ruff, with a fixed argv and no shell
from dataclasses import dataclass

from memo._toml import tomllib
from memo.validators._fileset import FileSet, Witnessing, remembered
from memo.validators._ruff_context import CONFIG_NAMES, _user_config_dirs
from memo.validators._tools import Tool
from memo.walk import directories

_INCLUDED = re.compile(r'Included path via `[a-z-]+`: "(.*)"$')
_IGNORED = re.compile(r'Ignored path via `[a-z-]+`: "(.*)"$')
_GITIGNORED = re.compile(r"\]\[DEBUG\] ignoring (.*?): Ignore\(")
_OPENED = re.compile(r"opened gitignore file: (.*)$")
_CONFIG_USED = re.compile(r"configuration file.* at: (.*)$")
_IGNORE_NAMES = (".gitignore", ".ignore")
_NOT_FORMATTED = frozenset(CONFIG_NAMES)
_PYTHON_SUFFIXES = (".py", ".pyi", ".ipynb")
_TIMEOUT_S = 120.0


class RuffFilesError(Exception):
    """ruff could not say which files it checks (a bad config, a crash, an unreadable log)."""


@dataclass(frozen=True, slots=True)
class RuffFiles:
    """What ``ruff check .`` and ``ruff format --check .`` check, decided by the same witnesses."""

    lint: FileSet
    format: FileSet

    @property
    def trusted(self) -> bool:
        return self.lint.trusted

    def still_holds(self) -> bool:
        return self.lint.still_holds()


def _unquote(text: str) -> str:
    """A path as Rust's ``Debug`` prints it inside quotes, back to the path."""
    return text.replace('\\"', '"').replace("\\\\", "\\")


class _Rerooted:
    """A path ruff printed, spelt under ``root`` as memo spells it.

    ruff prints paths under its working directory as the OS reports it, with symlinks
    resolved; memo's paths keep the root as it was given.
    """

    def __init__(self, root: str) -> None:
        self._root = root
        self._real = os.path.realpath(root)

    def __call__(self, name: str) -> str:
        path = os.path.normpath(os.path.join(self._root, name))
        if self._real != self._root and (path == self._real or path.startswith(self._real + os.sep)):
            path = os.path.join(self._root, os.path.relpath(path, self._real))
        return path


def ruff_files(tool: Tool, root: str, *, isolated: bool = False) -> RuffFiles:
    """The lint and format file sets at ``root`` (remembered while their witnesses hold)."""
    root = os.path.abspath(root)
    return remembered(("ruff-files", tool, root, isolated), lambda: derive(tool, root, isolated=isolated))


def derive(tool: Tool, root: str, *, isolated: bool = False) -> RuffFiles:
    """Ask ruff, and observe what decided its answer; ``RuffFilesError`` if it cannot say."""
    witnessing = Witnessing()
    _ancestors(witnessing, root)
    completed = _ask(tool, root, isolated)
    at_root = _Rerooted(root)
    lint = {at_root(line) for line in completed.stdout.decode("utf-8", "surrogateescape").splitlines() if line.strip()}
    included, pruned = _read_log(completed.stderr.decode("utf-8", "surrogateescape"), root, witnessing)
    if any(path.endswith(_PYTHON_SUFFIXES) and path not in included for path in lint):
        raise RuffFilesError("ruff's log does not list the files it included; the installed ruff logs differently")
    configs = _walk(witnessing, root, pruned)
    _extends(witnessing, configs)
    for directory in _user_config_dirs():
        witnessing.add_all(os.path.join(directory, name) for name in CONFIG_NAMES)
    witnessing.add_all(_git_global_ignores())
    formatted = {path for path in included if os.path.basename(path) not in _NOT_FORMATTED}
    return RuffFiles(witnessing.file_set(lint), witnessing.file_set(formatted))


def _ask(tool: Tool, root: str, isolated: bool) -> subprocess.CompletedProcess[bytes]:
    """``ruff check --show-files --verbose .`` in ``root``; ``RuffFilesError`` unless it succeeded."""
    argv = [*tool.argv, "check", "--show-files", "--verbose", *(["--isolated"] if isolated else []), "."]
    try:
        completed = subprocess.run(  # nosec B603 - ruff, fixed argv, no shell
            argv, cwd=root, capture_output=True, timeout=_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuffFilesError(f"ruff could not be run: {exc}") from exc
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuffFilesError(f"ruff --show-files failed: {message[-1] if message else completed.returncode}")
    return completed


def _read_log(log: str, root: str, witnessing: Witnessing) -> tuple[set[str], set[str]]:
    """``(paths the walk included, paths it pruned)``; every ignore file and config it read is witnessed."""
    at_root = _Rerooted(root)
    included: set[str] = set()
    pruned: set[str] = set()
    for line in log.splitlines():
        if found := _INCLUDED.search(line):
            included.add(at_root(_unquote(found[1])))
        elif (found := _IGNORED.search(line)) or (found := _GITIGNORED.search(line)):
            pruned.add(at_root(_unquote(found[1])))
        elif (found := _OPENED.search(line)) or (found := _CONFIG_USED.search(line)):
            witnessing.add(os.path.join(root, found[1].strip()))
    return included, pruned


def _ancestors(witnessing: Witnessing, root: str) -> None:
    """The root and each directory above it: ignore files, configs and ``.git``."""
    directory = root
    while True:
        witnessing.add_all(os.path.join(directory, name) for name in (*_IGNORE_NAMES, *CONFIG_NAMES, ".git"))
        parent = os.path.dirname(directory)
        if parent == directory:
            return
        directory = parent


def _walk(witnessing: Witnessing, root: str, pruned: set[str]) -> list[str]:
    """Witness every directory ruff walked and the ignore and config files in it; the configs found."""
    configs: list[str] = []
    walked = directories(root, lambda entry: os.path.normpath(entry.path) not in pruned and entry.name != ".git")
    for directory, entries in walked:
        witnessing.add(directory)
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    continue
                if entry.name in _IGNORE_NAMES:
                    witnessing.add(entry.path)
                elif entry.name in _NOT_FORMATTED:
                    witnessing.add(entry.path)
                    configs.append(entry.path)
            except OSError:
                continue
    return configs


def _extends(witnessing: Witnessing, configs: list[str]) -> None:
    """Witness every file an ``extend`` chain names (an ``extend-exclude`` there changes the set)."""
    seen = set(configs)
    pending = list(configs)
    while pending:
        path = pending.pop()
        try:
            with open(path, "rb") as handle:
                table = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        if os.path.basename(path) == "pyproject.toml":
            table = table.get("tool", {}).get("ruff", {})
        extend = table.get("extend") if isinstance(table, dict) else None
        if not isinstance(extend, str):
            continue
        target = os.path.abspath(os.path.join(os.path.dirname(path), os.path.expandvars(os.path.expanduser(extend))))
        witnessing.add(target)
        if target not in seen:
            seen.add(target)
            pending.append(target)


def _git_global_ignores() -> list[str]:
    """Where git's global excludes file may be, and the files that may name another."""
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return [os.path.join(xdg, "git", "ignore"), os.path.join(xdg, "git", "config"), os.path.join(home, ".gitconfig")]
