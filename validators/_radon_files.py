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
import re
from collections.abc import Iterable

from memo._toml import tomllib
from memo.validators._fileset import Derived, FileSet, Witnessing, remembered

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


def _any_glob(globs: list[str]) -> re.Pattern[str] | None:
    """One pattern for ``fnmatch`` against any of ``globs`` (None for none)."""
    if not globs:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(os.path.normcase(glob))})" for glob in globs))


def radon_files(root: str, candidates: Iterable[str]) -> FileSet:
    """The ``candidates`` (absolute paths) ``radon cc .`` at ``root`` measures, with the witnesses."""
    root = os.path.abspath(root)
    derived = remembered(("radon-rule", root), lambda: _derive(root))
    ignored, excluded = derived.value
    prefix = os.path.join(root, "")
    entered: dict[str, bool] = {"": True}

    def walked_into(directory: str) -> bool:
        """Whether radon's walk reaches ``directory`` (relative): no component matches ``ignore``."""
        found = entered.get(directory)
        if found is None:
            parent, _, name = directory.rpartition(os.sep)
            found = entered[directory] = walked_into(parent) and ignored.match(name) is None
        return found

    kept = []
    for path in candidates:
        if not path.startswith(prefix):
            continue  # outside the root: `radon cc .` never walks there
        relative = path[len(prefix) :]
        directory, _, name = relative.rpartition(os.sep)
        script = "." not in name
        if not (name.endswith(".py") or script) or name.startswith(".") or not walked_into(directory):
            continue
        if excluded is not None and excluded.match(relative) is not None:
            continue
        if not script or _python_script(path):
            kept.append(path)
    return derived.basis.with_files(kept)


def _derive(root: str) -> Derived[tuple[re.Pattern[str], re.Pattern[str] | None]]:
    """radon's ``(ignore, exclude)`` patterns at ``root``, with the config files they came from."""
    witnessing = Witnessing()
    exclude, ignore = _options(root, witnessing)
    rules = (_any_glob(ignore) or re.compile(r"(?!)"), _any_glob(exclude))
    return Derived(rules, witnessing.file_set(()))
