"""bandit's own configuration of a project, read as ``bandit -r .`` reads it at the root.

What bandit itself does (``bandit/cli/main.py``):

- ``bandit -r .`` walks the tree for a ``.bandit`` INI file and, if there is exactly one,
  takes command-line defaults from its ``[bandit]`` section: ``configfile`` (``-c``),
  ``exclude`` (``-x``, which replaces bandit's default exclusions), ``skips``, ``tests``,
  ``ignore-nosec``, and a few that only shape the report.
- ``[tool.bandit]`` in ``pyproject.toml`` is read only when bandit is given
  ``-c pyproject.toml``. Projects that write that table run bandit that way (bandit's
  documentation says to), so memo passes ``-c pyproject.toml`` when the table is there
  and ``.bandit`` names no other ``configfile``.
- The config file's ``exclude_dirs`` (and ``-x``) are matched, as globs and as substrings,
  against the path as the walk from ``.`` spells it (``./tests/test_a.py``). bandit
  applies them to files named on its command line too, so memo runs bandit at the root
  and names each file that way: bandit then excludes exactly what ``-r .`` would.

memo reads only the ``.bandit`` at the project root (a ``.bandit`` deeper in the tree,
which ``bandit -r .`` would also find, is not looked for). Which files bandit checks
(``include`` and the exclusions) is ``memo.validators._bandit_files``.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass

from memo._toml import tomllib
from memo.validators._context import ConfigMemo

INI_NAME = ".bandit"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True, slots=True)
class BanditConfig:
    """The project's bandit settings, as arguments, and a digest of everything they came from."""

    config_args: tuple[str, ...]
    """``-c FILE`` and ``--exclude=...`` / ``--ignore-nosec`` taken from ``.bandit``."""
    skips: tuple[str, ...]
    tests: tuple[str, ...]
    digest: str
    problem: str | None = None
    """Why the configuration cannot be used (bandit itself would refuse to run), or None."""


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def _read_ini(path: str) -> dict[str, str] | None:
    """The ``[bandit]`` section, as bandit's ``parse_ini_file`` reads it; None if absent or bad."""
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
        return dict(parser.items("bandit"))
    except (configparser.Error, KeyError, TypeError, UnicodeDecodeError, OSError):
        return None


def _read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _pyproject_table(data: bytes | None) -> dict[str, object] | None:
    """``[tool.bandit]`` of a pyproject.toml, or None if there is none (or the file is not TOML)."""
    if data is None:
        return None
    try:
        table = tomllib.loads(data.decode("utf-8")).get("tool", {}).get("bandit")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, AttributeError):
        return None
    return table if isinstance(table, dict) else None


def watched(root: str) -> tuple[str, ...]:
    return (os.path.join(root, INI_NAME), os.path.join(root, PYPROJECT))


def sources(root: str, config: BanditConfig) -> tuple[str, ...]:
    """Every file ``config`` was read from: the two ``watched`` ones and the ``-c`` file they name."""
    args = config.config_args
    named = [os.path.join(root, args[i + 1]) for i, arg in enumerate(args[:-1]) if arg == "-c"]
    return (*watched(root), *named)


def derive(root: str) -> tuple[BanditConfig, Sequence[str]]:
    """The configuration ``bandit -r .`` run in ``root`` would use, and the files it came from."""
    ini_path, pyproject_path = watched(root)
    ini = _read_ini(ini_path) if os.path.exists(ini_path) else None
    ini = ini or {}
    args: list[str] = []
    read: list[str] = []
    parts: list[bytes] = [json.dumps(sorted(ini.items())).encode()]
    problem = None
    configfile = ini.get("configfile")
    if configfile:
        path = os.path.join(root, configfile)
        read.append(path)
        data = _read_bytes(path)
        if data is None:
            problem = f"bandit's config file {configfile!r} (named in {INI_NAME}) cannot be read"
        args += ["-c", configfile]
        parts.append(data or b"")
    else:
        table = _pyproject_table(_read_bytes(pyproject_path))
        if table is not None:
            args += ["-c", PYPROJECT]
            parts.append(json.dumps(table, sort_keys=True, default=str).encode())
    if ini.get("exclude"):
        args.append(f"--exclude={ini['exclude']}")
    if ini.get("ignore-nosec"):
        # bandit takes any non-empty value here as "on", "false" included.
        args.append("--ignore-nosec")
    hasher = hashlib.blake2b(digest_size=16)
    for part in (*parts, "\0".join(args).encode()):
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    config = BanditConfig(tuple(args), _split(ini.get("skips")), _split(ini.get("tests")), hasher.hexdigest(), problem)
    return config, read


_memo: ConfigMemo[BanditConfig] = ConfigMemo(derive, watched)


def project_config(root: str) -> BanditConfig:
    """The bandit configuration of the project at ``root`` (memoised while its files hold still)."""
    return _memo.get(root)


def fresh_config(root: str) -> BanditConfig:
    """The configuration read now, ignoring the memo: to check that nothing changed during a run."""
    return derive(root)[0]
