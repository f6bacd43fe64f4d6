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
from memo.recent import Recent

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


def config_digest(value: Any) -> str:
    """The config part of a key for ``value``: a mapping (or None) as ``config_hash``,
    anything else (a list, a string) by its canonical JSON, which never reads as a mapping's.
    """
    if value is None or isinstance(value, Mapping):
        return config_hash(value)
    plain = _canonical(value, "cache_config()")
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class ConfigDigests:
    """``config_digest`` memoised for one run, because canonical JSON costs as much as a hit.

    A ``dict`` is remembered by the identities of its keys and values, so a shallow copy
    of the run's config (every validator takes one) is recognised without being hashed
    again; anything else by its own identity. The memo keeps what it remembers alive,
    so an identity is never reused while it is remembered. What it cannot see is a
    mapping changed in place during the run: configs must hold still while bound.
    """

    __slots__ = ("_by_id", "_by_items", "_max_entries")

    def __init__(self, max_entries: int = 1024) -> None:
        self._by_id: dict[int, tuple[Any, str]] = {}
        self._by_items: dict[tuple[tuple[Any, ...], tuple[int, ...]], tuple[tuple[Any, ...], str]] = {}
        self._max_entries = max_entries

    def __len__(self) -> int:
        return len(self._by_id) + len(self._by_items)

    def digest(self, value: Any) -> str:
        """``config_digest(value)``, computed once per distinct value of this run."""
        if type(value) is dict:
            # Keys by value (they are strings), values by identity, kept alive by the entry.
            values = tuple(value.values())
            signature = (tuple(value), tuple(map(id, values)))
            seen = self._by_items.get(signature)
            if seen is not None:
                return seen[1]
            digest = config_digest(value)
            self._remember(self._by_items, signature, (values, digest))
            return digest
        known = self._by_id.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        digest = config_digest(value)
        self._remember(self._by_id, id(value), (value, digest))
        return digest

    def _remember(self, memo: dict[Any, Any], key: Any, entry: Any) -> None:
        if len(memo) >= self._max_entries:
            memo.clear()
        memo[key] = entry


def relative_key_path(file_path: str | os.PathLike[str], root: str | os.PathLike[str] | None) -> str:
    """The file's path relative to ``root`` in POSIX form, or its absolute POSIX path if outside.

    Purely lexical (no ``resolve()``, no ``PurePath``): it runs on every cache hit, and the
    orchestrator hands validators paths under the root it was given. Memoised, because a
    run asks for each file once per dimension.
    """
    path = file_path if type(file_path) is str else os.fspath(file_path)
    base = root if root is None or type(root) is str else os.fspath(root)
    known = _absolute_relatives.get((path, base))
    if known is not None:
        return known
    if os.path.isabs(path) and (base is None or os.path.isabs(base)):
        # Absolute inputs mean the same thing from any working directory: remembered by
        # their own strings, one dict lookup on the next hit.
        relative = _relative_key_path(path, base, "")
        _absolute_relatives[path, base] = relative
        return relative
    return _relative_key_path(path, base, os.getcwd())


_absolute_relatives: Recent[tuple[str, str | None], str] = Recent(4096)
"""``relative_key_path`` of absolute ``(path, root)`` pairs: what a run asks for on every hit,
for each file once per dimension, close together (a window of recent files, not every file)."""


@functools.lru_cache(maxsize=4096)
def _relative_key_path(file_path: str, root: str | None, cwd: str) -> str:
    # ``cwd`` is part of the memo key: relative inputs mean something else after a chdir.
    absolute = os.path.abspath(file_path)
    if root is not None:
        base = os.path.abspath(root)
        prefix = base if base.endswith(os.sep) else base + os.sep
        if absolute.startswith(prefix):
            absolute = absolute[len(prefix) :]
    return absolute if os.sep == "/" else absolute.replace(os.sep, "/")


def encode_identity(module: str, qualname: str, version: str, tool: str | None) -> str:
    """A validator identity as one unambiguous string: the lengths of the first three pieces lead.

    ``[12,5,1]plugins.todo.Check@1+ruff 0.6`` reads as module, qualname, version and tool,
    and no two identities give the same string (``plugins.todo`` + ``Check`` is not
    ``plugins`` + ``todo.Check``; version ``1+x`` is not version ``1`` with tool ``x``).
    """
    head = f"[{len(module)},{len(qualname)},{len(version)}]{module}.{qualname}@{version}"
    return head if tool is None else f"{head}+{tool}"


@dataclass(frozen=True)
class ValidatorIdentity:
    """The pieces of a validator identity: who computed a result, at which version, with what tools."""

    module: str
    qualname: str
    version: str
    tool: str | None
    """What ``cache_identity()`` returned (the versions of the tools it runs), None without one."""

    def encode(self) -> str:
        """One string for the key (see ``encode_identity``)."""
        return encode_identity(self.module, self.qualname, self.version, self.tool)

    @classmethod
    def decode(cls, identity: str) -> ValidatorIdentity | None:
        """The pieces of an encoded identity, or None if ``identity`` is not one."""
        head, bracket, rest = identity.partition("]")
        try:
            lengths = [int(part) for part in head.removeprefix("[").split(",")]
        except ValueError:
            return None
        if not bracket or not head.startswith("[") or len(lengths) != 3 or min(lengths) < 0:
            return None
        module_len, qual_len, version_len = lengths
        module, at = rest[:module_len], module_len
        if rest[at : at + 1] != ".":
            return None
        qualname, at = rest[at + 1 : at + 1 + qual_len], at + 1 + qual_len
        if rest[at : at + 1] != "@":
            return None
        version, at = rest[at + 1 : at + 1 + version_len], at + 1 + version_len
        if len(version) != version_len:
            return None
        tail = rest[at:]
        if tail and not tail.startswith("+"):
            return None
        return cls(module, qualname, version, tail[1:] if tail else None)


@dataclass(frozen=True)
class KeyParts:
    """Everything a cached result depends on. Two calls share an entry only if all match."""

    path: str
    """File path relative to the project root, POSIX form."""
    content: str
    """Content digest, algorithm-prefixed."""
    config: str
    """Digest of the config that affects the validator: its ``cache_config()`` if it has
    one, else its ``config``."""
    dimension: str
    validator: str
    """Validator identity (``ValidatorIdentity.encode``): module, qualname, version, tools."""
    context: str = ""
    """What else the result depends on, from the validator's ``cache_context()``: the
    other files a rule reads, the interpreter that parses the file, and so on."""
    schema: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> KeyParts | None:
        """Parts read back from ``to_dict``'s JSON, or None if ``data`` is not such a record."""
        if not isinstance(data, dict):
            return None
        names = ("path", "content", "config", "dimension", "validator", "context")
        if any(type(data.get(name)) is not str for name in names) or type(data.get("schema")) is not int:
            return None
        return cls(**{name: data[name] for name in (*names, "schema")})


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


class KeyMemo:
    """``key_string`` memoised, for a process that checks the same files again in one binding.

    A watch loop, an editor integration or a benchmark derives the same keys over and
    over; one ``memo run`` derives each key once, so the memo is a small window of the
    most recent keys (``memo.recent.Recent``) rather than every key of the run. Exact,
    since ``key_string`` is a pure function of its parts: a part that differs in any way
    is another memo key.
    """

    __slots__ = ("_keys",)

    def __init__(self, max_entries: int = 2048) -> None:
        self._keys: Recent[tuple[str, str, str, str, str, str], str] = Recent(max_entries)

    def __len__(self) -> int:
        return len(self._keys)

    def key(self, path: str, content: str, config: str, dimension: str, validator: str, context: str = "") -> str:
        """``key_string(path, content, config, dimension, validator, context=context)``."""
        parts = (path, content, config, dimension, validator, context)
        known = self._keys.get(parts)
        if known is not None:
            return known
        key = key_string(path, content, config, dimension, validator, context=context)
        self._keys[parts] = key
        return key


def key_dimension(key: str) -> str | None:
    """The dimension a store key was made for (``memo1:lint:...`` -> ``lint``), or None if not a key of ours."""
    schema, _, rest = key.partition(":")
    dimension, _, digest = rest.partition(":")
    return dimension if schema.startswith("memo") and dimension and digest else None


def derive_key(parts: KeyParts) -> str:
    """The store key for ``parts``."""
    return key_string(
        parts.path, parts.content, parts.config, parts.dimension, parts.validator, parts.schema, parts.context
    )


def last_stored_key(dimension: str, path: str, schema: int = SCHEMA_VERSION) -> str:
    """Where the parts of the entry last stored for ``path`` in ``dimension`` are recorded.

    One record per file and dimension (not per key), so ``memo.explain`` can say which
    part of a missing key differs from what was stored before.
    """
    payload = f"{schema}|{len(dimension)}:{dimension}{len(path)}:{path}"
    digest = hashlib.blake2b(payload.encode(errors="surrogatepass"), digest_size=20).hexdigest()
    return f"memo{schema}-last:{dimension}:{digest}"
