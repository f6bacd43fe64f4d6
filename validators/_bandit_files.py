"""The files ``bandit -r .`` checks at the project root: its include and exclude rules on each path.

bandit walks the tree from ``.`` (``bandit/core/manager.py``: ``_get_files_from_dir``)
and keeps a file when its path, spelt as the walk spells it (``./pkg/a.py``), matches
one of the config file's ``include`` globs (``*.py`` and ``*.pyw`` without a config file,
``*.py`` with one that sets none) and is not excluded: not matched as a glob, nor
contained as a substring, by any of the config's ``exclude_dirs`` and the ``-x`` paths
(bandit's defaults, ``.svn,CVS,.bzr,.hg,.git,__pycache__,.tox,.eggs,*.egg``, unless
``.bandit`` gives its own). A ``-x`` path that is a directory at the root becomes
``PATH/*`` first, as bandit does. bandit reads no ``.gitignore``.

Nothing but the path decides, so the rule is applied to the files memo discovered
rather than to a walk of its own. Witnessed: the root's ``.bandit`` and
``pyproject.toml``, the config file they name, and what each ``-x`` path is (a
directory or not).
"""

from __future__ import annotations

import fnmatch
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from memo._toml import tomllib
from memo.validators._bandit_config import project_config, watched
from memo.validators._fileset import Derived, FileSet, Witnessing, remembered

DEFAULT_EXCLUDE = (".svn", "CVS", ".bzr", ".hg", ".git", "__pycache__", ".tox", ".eggs", "*.egg")
"""bandit's ``-x`` default (``bandit.core.constants.EXCLUDE``)."""
NO_CONFIG_INCLUDE = ("*.py", "*.pyw")
CONFIG_INCLUDE = ("*.py",)


class BanditFilesError(Exception):
    """The configuration file bandit would read cannot be read here."""


@dataclass(frozen=True, slots=True)
class BanditRule:
    """bandit's include globs and exclusions, compiled once."""

    include: re.Pattern[str]
    exclude: re.Pattern[str] | None
    substrings: tuple[str, ...]

    def checks(self, walked: str) -> bool:
        """Whether ``bandit -r .`` keeps the file the walk spells ``walked`` (``./pkg/a.py``)."""
        if self.include.match(walked) is None:
            return False
        if self.exclude is not None and self.exclude.match(walked) is not None:
            return False
        return not any(part in walked for part in self.substrings)


def _globs(patterns: Iterable[str]) -> re.Pattern[str] | None:
    patterns = list(patterns)
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(os.path.normcase(pattern))})" for pattern in patterns))


def _config_options(path: str) -> tuple[list[str], list[str] | None]:
    """``(exclude_dirs, include)`` of bandit's config file at ``path``, read as bandit reads it."""
    try:
        with warnings.catch_warnings():  # bandit's plugin loader warns about its own arguments
            warnings.simplefilter("ignore", DeprecationWarning)
            from bandit.core import config as bandit_config  # bandit's own reader: YAML or TOML

            loaded = bandit_config.BanditConfig(config_file=path)
        excluded, included = loaded.get_option("exclude_dirs"), loaded.get_option("include")
    except ImportError:
        if not path.endswith(".toml"):
            raise BanditFilesError(f"bandit is not importable to read {path}") from None
        try:
            with open(path, "rb") as handle:
                table = tomllib.load(handle).get("tool", {}).get("bandit", {})
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, AttributeError) as exc:
            raise BanditFilesError(f"{path}: {exc}") from exc
        excluded, included = table.get("exclude_dirs"), table.get("include")
    except Exception as exc:  # bandit's ConfigError and whatever its YAML reader raises
        raise BanditFilesError(f"{path}: {exc}") from exc
    return [str(item) for item in excluded or []], None if not included else [str(item) for item in included]


def rule(root: str, witnessing: Witnessing) -> BanditRule:
    """bandit's rule at ``root``, observing in ``witnessing`` what decides it."""
    witnessing.add_all(watched(root))
    config = project_config(root)
    args = list(config.config_args)
    config_file = args[args.index("-c") + 1] if "-c" in args else None
    cli_exclude = next((arg.partition("=")[2] for arg in args if arg.startswith("--exclude=")), None)
    excluded: list[str] = []
    include: list[str] = list(NO_CONFIG_INCLUDE)
    if config_file is not None:
        path = os.path.join(root, config_file)
        witnessing.add(path)
        excluded, configured = _config_options(path)
        include = configured or list(CONFIG_INCLUDE)
    for item in cli_exclude.split(",") if cli_exclude is not None else DEFAULT_EXCLUDE:
        is_dir = witnessing.add_kind(os.path.join(root, item)) == "d" if item else False
        excluded.append(os.path.join(item, "*") if is_dir else item)
    return BanditRule(_globs(include) or re.compile(r"(?!)"), _globs(excluded), tuple(excluded))


def bandit_files(root: str, candidates: Iterable[str]) -> FileSet:
    """The ``candidates`` (absolute paths) that ``bandit -r .`` at ``root`` checks, with the witnesses."""
    root = os.path.abspath(root)
    derived = remembered(("bandit-rule", root), lambda: _derive(root))
    found = derived.value
    prefix = os.path.join(root, "")
    # The walk's spelling, ./pkg/a.py; a file outside the root is never walked by `bandit -r .`.
    kept = [path for path in candidates if path.startswith(prefix) and found.checks(f".{os.sep}{path[len(prefix) :]}")]
    return derived.basis.with_files(kept)


def _derive(root: str) -> Derived[BanditRule]:
    witnessing = Witnessing()
    found = rule(root, witnessing)
    return Derived(found, witnessing.file_set(()))
