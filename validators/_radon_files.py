"""The files ``radon cc .`` measures at the project root: its walk's rules on each path.

radon (``radon/cli/tools.py``: ``iter_filenames``, ``explore_directories``) walks ``.``
and never enters a directory whose name matches one of its ``ignore`` globs (``.*``
always, plus the config's ``ignore``); it keeps a file whose path (``pkg/a.py``) matches
none of the config's ``exclude`` globs, whose name does not start with ``.``, and that
is Python: ``*.py``, or a file whose first line is a ``#!`` naming python (and
``*.ipynb`` where ``nbformat`` is installed: memo measures no notebooks, a documented
limit). Its config is the ``[radon]``
section of ``$RADONCFG``, ``radon.cfg``, ``[tool.radon]`` of ``pyproject.toml``,
``setup.cfg`` and ``~/.radon.cfg``, read in that order as radon reads them.

Nothing but the path (and a script's first line) decides, so the rule is applied to the
files memo discovered. Only a file with no suffix is read for its ``#!`` line (a file
named ``tool.sh`` starting ``#!/usr/bin/env python`` is left out: documented limit).
Witnessed: every config file above.
"""

from __future__ import annotations

import configparser
import fnmatch
import os
import sys
from collections.abc import Iterable

from memo.validators._fileset import FileSet, Witnessing

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SECTION = "radon"


class RadonFilesError(Exception):
    """radon's configuration cannot be read (radon itself would stop)."""


def _config_files(root: str) -> list[str]:
    named = os.environ.get("RADONCFG")
    files = [os.path.join(root, named)] if named else []
    return [*files, os.path.join(root, "radon.cfg")]


def _options(root: str, witnessing: Witnessing) -> tuple[list[str], list[str]]:
    """``(exclude, ignore)`` as ``radon cc .`` in ``root`` reads them."""
    config = configparser.ConfigParser()
    pyproject = os.path.join(root, "pyproject.toml")
    later = [os.path.join(root, "setup.cfg"), os.path.expanduser("~/.radon.cfg")]
    witnessing.add_all([*_config_files(root), pyproject, *later])
    try:
        for path in _config_files(root):
            if os.path.exists(path):
                with open(path, encoding="utf-8") as handle:
                    config.read_file(handle)
        try:
            with open(pyproject, "rb") as handle:
                tool = tomllib.load(handle).get("tool", {})
        except (OSError, AttributeError):
            tool = {}
        if isinstance(tool, dict) and isinstance(tool.get(SECTION), dict):
            config.read_dict({SECTION: tool[SECTION]})
        config.read(later, encoding="utf-8")
    except (configparser.Error, tomllib.TOMLDecodeError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise RadonFilesError(str(exc)) from exc
    exclude = config.get(SECTION, "exclude", fallback=None)
    ignore = config.get(SECTION, "ignore", fallback=None)
    return (exclude.split(",") if exclude else []), (f".*,{ignore}".split(",") if ignore else [".*"])


def _python_script(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            first = handle.readline()
    except OSError:
        return False
    return first.startswith("#!") and "python" in first


def radon_files(root: str, candidates: Iterable[str]) -> FileSet:
    """The ``candidates`` (absolute paths) ``radon cc .`` at ``root`` measures, with the witnesses."""
    root = os.path.abspath(root)
    witnessing = Witnessing()
    exclude, ignore = _options(root, witnessing)
    prefix = os.path.join(root, "")
    kept = []
    for path in candidates:
        if not path.startswith(prefix):
            continue  # outside the root: `radon cc .` never walks there
        relative = path[len(prefix) :]
        *directories, name = relative.split(os.sep)
        if name.startswith(".") or any(fnmatch.fnmatch(part, glob) for part in directories for glob in ignore):
            continue
        if exclude and any(fnmatch.fnmatch(relative, glob) for glob in exclude):
            continue
        if name.endswith(".py") or ("." not in name and _python_script(path)):
            kept.append(path)
    return witnessing.file_set(kept)
