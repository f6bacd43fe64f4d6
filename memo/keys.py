"""Cache keys: deterministic strings built by pure functions from named parts.

Nothing here pickles, calls ``hash()`` or ``repr()``s an object: the same parts give the
same key in every process, on every machine, in every Python version.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import PurePath
from typing import Any

from memo.errors import ConfigHashError

SCHEMA_VERSION = 1
"""Version of the stored entry format; bumping it orphans every older entry."""


def _canonical(value: Any, where: str) -> Any:
    """``value`` as plain JSON types, or ``ConfigHashError`` naming the key path."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigHashError(f"config value at {where} is {value!s}, which has no canonical form")
        return value
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigHashError(
                    f"config key {key!s} at {where} is a {type(key).__name__}; config keys must be strings"
                )
            out[key] = _canonical(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_canonical(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [_canonical(item, f"{where}{{...}}") for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    raise ConfigHashError(
        f"config value at {where} is a {type(value).__name__}, which has no canonical form "
        "(use str, int, float, bool, None, list, dict or a path)"
    )


def canonical_config(config: Mapping[str, Any] | None) -> bytes:
    """The config as canonical JSON bytes: sorted keys, no whitespace, ASCII only."""
    plain = _canonical(dict(config or {}), "config")
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def config_hash(config: Mapping[str, Any] | None) -> str:
    """A stable digest of a config, the same for any key order and in any process."""
    return hashlib.blake2b(canonical_config(config), digest_size=16).hexdigest()


EMPTY_CONFIG_HASH = config_hash({})


def relative_key_path(file_path: str | os.PathLike[str], root: str | os.PathLike[str] | None) -> str:
    """The file's path relative to ``root`` in POSIX form, or its absolute POSIX path if outside.

    Purely lexical (no ``resolve()``, no ``PurePath``): it runs on every cache hit, and the
    orchestrator hands validators paths under the root it was given. Memoised, because a
    run asks for each file once per dimension.
    """
    path = os.fspath(file_path)
    base = None if root is None else os.fspath(root)
    absolute = os.path.isabs(path) and (base is None or os.path.isabs(base))
    return _relative_key_path(path, base, "" if absolute else os.getcwd())


@functools.lru_cache(maxsize=1 << 16)
def _relative_key_path(file_path: str, root: str | None, cwd: str) -> str:
    # ``cwd`` is part of the memo key: relative inputs mean something else after a chdir.
    absolute = os.path.abspath(file_path)
    if root is not None:
        base = os.path.abspath(root)
        prefix = base if base.endswith(os.sep) else base + os.sep
        if absolute.startswith(prefix):
            absolute = absolute[len(prefix) :]
    return absolute if os.sep == "/" else absolute.replace(os.sep, "/")


@dataclass(frozen=True)
class KeyParts:
    """Everything a cached result depends on. Two calls share an entry only if all match."""

    path: str
    """File path relative to the project root, POSIX form."""
    content: str
    """Content digest, algorithm-prefixed."""
    config: str
    """Config hash of the run (or of the validator's own config outside a run)."""
    dimension: str
    validator: str
    """Validator identity: module, qualname, version and tool versions."""
    context: str = ""
    """What else the result depends on, from the validator's ``cache_context()``: the
    other files a rule reads, the interpreter that parses the file, and so on."""
    schema: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def key_string(
    path: str,
    content: str,
    config: str,
    dimension: str,
    validator: str,
    schema: int = SCHEMA_VERSION,
    context: str = "",
) -> str:
    """The store key for these parts: a digest of the parts, each length-prefixed.

    Length prefixes make the encoding unambiguous (no two part lists give the same
    bytes) at a fraction of the cost of JSON; this runs on every cache hit.
    """
    payload = (
        f"{schema}|{len(path)}:{path}{len(content)}:{content}{len(config)}:{config}"
        f"{len(dimension)}:{dimension}{len(validator)}:{validator}{len(context)}:{context}"
    )
    digest = hashlib.blake2b(payload.encode(errors="surrogatepass"), digest_size=20).hexdigest()
    return f"memo{schema}:{dimension}:{digest}"


def derive_key(parts: KeyParts) -> str:
    """The store key for ``parts``."""
    return key_string(
        parts.path, parts.content, parts.config, parts.dimension, parts.validator, parts.schema, parts.context
    )
