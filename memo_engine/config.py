"""The run's config in one place: where it comes from, what is valid, and what each validator sees.

Layers, each over the one before: the defaults (a rendered orchestrator's), then
``[tool.memo]`` in the project root's ``pyproject.toml``, then a ``--config`` file, then
command-line flags. Top-level keys steer the run (``include``, ``exclude``, ``timeout``,
``validators``); every other key is a table named after a dimension, holding that
validator's options. A validator sees only its own table, so its cache key changes only
when its own options do.

Every mistake is one ``EngineError`` line naming the key, what was expected and, for a
misspelling, the closest valid name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import memo
from memo._toml import tomllib
from memo.engine.errors import EngineError
from memo.validators import Validator

DEFAULT_TIMEOUT = 300.0
"""Seconds one ``validate()`` may take before it is abandoned (config key ``timeout``)."""

RUN_KEYS = ("exclude", "include", "remote", "timeout", "validators")
"""Top-level keys the engine consumes; validators never see them, so no cache key holds them."""


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``; tables (dimension sections) merge key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def read_file(path: Path) -> dict[str, Any]:
    """A JSON (``.json``) or TOML config file; its ``[tool.memo]`` table if it has one."""
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSON and TOML decode errors are ValueErrors
        raise EngineError(f"cannot read config {path}: {_one_line(exc)}") from None
    if not isinstance(data, dict):
        raise EngineError(f"config {path} must hold a table/object, not {type(data).__name__}")
    tool = data.get("tool")
    if isinstance(tool, dict) and isinstance(tool.get("memo"), dict):
        return dict(tool["memo"])
    return data


def project_table(root: Path) -> dict[str, Any]:
    """``[tool.memo]`` of ``root/pyproject.toml``, or an empty dict."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EngineError(f"cannot read {path}: {_one_line(exc)}") from None
    tool = data.get("tool", {})
    section = tool.get("memo", {}) if isinstance(tool, dict) else {}
    if not isinstance(section, dict):
        raise EngineError(f"{path}: [tool.memo] must be a table")
    return section


def load(root: Path, config_file: str | Path | None, base: Mapping[str, Any]) -> dict[str, Any]:
    """``base``, then ``[tool.memo]`` from the root's pyproject.toml, then ``config_file`` on top."""
    config = merge(base, project_table(root))
    if config_file is not None:
        config = merge(config, read_file(Path(config_file)))
    return config


def closest(name: str, candidates: Collection[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate to a misspelt name, or ``""``."""
    import difflib  # only for a misspelt name: kept off the start-up path

    match = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _patterns(config: Mapping[str, Any], name: str) -> list[str]:
    value = config.get(name, [])
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and item for item in value):
        hint = f' (write {name} = ["{value}"])' if isinstance(value, str) else ""
        raise EngineError(f"config {name!r} must be a list of glob patterns, not {value!r}{hint}")
    return list(value)


def _timeout(config: Mapping[str, Any]) -> float:
    value = config.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise EngineError(f"config 'timeout' must be a positive number of seconds, not {value!r}")
    return float(value)


def validator_specs(config: Mapping[str, Any]) -> list[str]:
    """``validators = ["package.module:Class", ...]``: the project's own validator classes."""
    value = config.get("validators", [])
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and ":" in item for item in value):
        raise EngineError(f"config 'validators' must be a list of \"package.module:Class\" strings, not {value!r}")
    return list(value)


def remote_address(config: Mapping[str, Any]) -> str | None:
    """``remote = "redis://host:6379/0"``: the shared cache's address, never with a password.

    A config file is committed and shared; a password belongs in the URL given on the
    command line or in ``$VALIDATION_CACHE_REMOTE``, or in ``$VALIDATION_CACHE_REMOTE_PASSWORD``
    (which memo sends only to an address from one of those two, never to this one). Query
    options other than ``db`` are refused too: ``ssl_certfile``/``ssl_keyfile`` would present
    the user's client certificate to a server the checkout chose, ``ssl_cert_reqs=none``
    would switch off the check of the server's.
    """
    from urllib.parse import parse_qsl, urlsplit

    from memo.credentials import PASSWORD_ENV, REMOTE_ENV
    from memo.remote import check_address, has_password, redact

    value = config.get("remote")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise EngineError(f"config 'remote' must be an address like \"redis://host:6379/0\", not {value!r}")
    if has_password(value):
        raise EngineError(
            f"config 'remote' must not hold a password ({redact(value)}): "
            f"set {PASSWORD_ENV}, or give the full URL in {REMOTE_ENV} or --remote"
        )
    try:
        address = check_address(value)
        options = sorted({name for name, _ in parse_qsl(urlsplit(address).query, keep_blank_values=True)} - {"db"})
    except ValueError as exc:
        raise EngineError(f"config 'remote': {exc}") from None
    if options:
        raise EngineError(
            f"config 'remote' may name a server and a db only, not {', '.join(options)} ({redact(value)}): "
            f"give connection options in {REMOTE_ENV} or --remote"
        )
    return address


def check(
    config: Mapping[str, Any],
    validators: Sequence[type[Validator]],
    known_dimensions: Collection[str] = (),
) -> dict[str, Any]:
    """``config`` as a plain dict with run keys normalised, or ``EngineError`` for the first mistake.

    A section for a dimension that is known but not running is accepted (a project
    configures every dimension, and runs some); a name that is neither a run key nor a
    known dimension is a mistake, with the closest valid name suggested.
    """
    if not isinstance(config, Mapping):
        raise EngineError(f"config must be a table/object, not {type(config).__name__}")
    checked = dict(config)
    running = {cls.dimension: cls for cls in validators}
    dimensions = set(known_dimensions) | set(running)
    for key, value in checked.items():
        if key in RUN_KEYS:
            continue
        if key not in dimensions:
            kind = "section" if isinstance(value, Mapping) else "key"
            raise EngineError(f"config: unknown {kind} {key!r}{closest(key, [*RUN_KEYS, *dimensions])}")
        if not isinstance(value, Mapping):
            raise EngineError(f"config {key!r} must be a table of {key} options, not {value!r}")
        cls = running.get(key)
        if cls is not None:
            try:
                cls.check_options(value)
            except ValueError as exc:
                raise EngineError(_one_line(exc)) from None
        checked[key] = dict(value)
    for name in ("include", "exclude"):
        checked[name] = _patterns(checked, name)
    checked["timeout"] = _timeout(checked)
    checked["validators"] = validator_specs(checked)
    if "remote" in checked:
        checked["remote"] = remote_address(checked)
    try:
        memo.canonical_config(checked)
    except (memo.ConfigHashError, TypeError, ValueError) as exc:
        raise EngineError(f"config: {exc}") from None
    return checked


def slice_for(cls: type[Validator], config: Mapping[str, Any]) -> dict[str, Any]:
    """What ``cls`` sees: ``{dimension: its table}``, or ``{}`` when the config has none."""
    section = config.get(cls.dimension)
    return {cls.dimension: dict(section)} if isinstance(section, Mapping) else {}
