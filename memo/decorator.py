"""``@cached_validation``: serve ``async def validate(self)`` from the cache when nothing changed.

The wrapper reads what it needs from the instance by duck typing (``file_path``,
``root``, ``config``, ``version``, optionally ``cache_identity()``, ``cache_config()``
and ``cache_context()``), so memo knows nothing of any particular validator class.

``cache_config()`` returns the part of the config that affects the validator (its own
section, say); its digest is the config part of the key, so editing another
validator's options keeps this one's entries. Without it the whole ``config`` is hashed.

``cache_context()`` is the hook for "what else my result depends on": a short string
(a digest) of everything outside the file's own bytes, config and validator identity
that can change the result. A rule that looks at sibling files, a tool that parses with
the running interpreter, a config file found near the file: each belongs in it. It is
called on every lookup, so it should be cheap (memoise per directory and per run).

A hit costs one ``stat`` (the file's digest is remembered per run), one key
derivation, one store read and one JSON decode, all on the event loop: no thread hop,
no database write.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import inspect
import os
import sys
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import wrapt

from memo.binding import CacheBinding, current_binding, default_binding
from memo.cache import CACHE_TTL, TTL, ValidationCache, check_ttl
from memo.enabled import DISABLED_REASON, caching_enabled
from memo.hashing import FileStamp
from memo.keys import (
    EMPTY_CONFIG_HASH,
    KeyParts,
    ValidatorIdentity,
    config_digest,
    encode_identity,
    relative_key_path,
)
from memo.results import ValidationResult
from memo.tiered import leased, remote_lookup

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

DIMENSION_ATTRIBUTE = "__memo_dimension__"
CACHED_ATTRIBUTE = "__memo_cached__"
"""Set on every function ``@cached_validation`` wraps: ``prefetch`` plans only calls that look up."""
"""Set on a decorated function: the dimension it was decorated with (``memo.explain`` reads it)."""

_in_flight: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("memo_in_flight", default=frozenset())

_planning: contextvars.ContextVar[dict[Hashable, Any] | None] = contextvars.ContextVar("memo_planning", default=None)


def planning_scope() -> dict[Hashable, Any] | None:
    """A memo shared by the checks ``prefetch`` plans together; None outside such a pass.

    ``prefetch`` plans a whole chunk of checks in one synchronous pass (it never yields to
    the event loop), so what their ``cache_context()`` and ``cache_identity()`` observe
    of the file system (a config file's digest, a directory's listing, a tool's version)
    may be observed once for all of them: as ruff reads a directory's configuration once
    per invocation. Keys are the caller's own (prefix them with something of yours).
    Anything that must see the file system as it is now (a check after the tool ran,
    that nothing changed meanwhile) does not use it.
    """
    return _planning.get()


"""Keys whose flight this task is running: a call with one of them is a re-entry, not a waiter."""


def identity_of(instance: Any) -> ValidatorIdentity:
    """The pieces of ``instance``'s validator identity (see ``validator_identity``)."""
    cls = type(instance)
    extra = getattr(instance, "cache_identity", None)
    return ValidatorIdentity(
        cls.__module__,
        cls.__qualname__,
        str(getattr(instance, "version", "")),
        None if extra is None else str(extra()),
    )


def validator_identity(instance: Any) -> str:
    """Who computed a result: the class's module and qualname, its version, its code and tool versions.

    A class may add to it through ``cache_identity()`` (for example the version of the
    external tool it runs), so upgrading the tool invalidates its entries. The version
    piece also holds a digest of the source files the class and its bases were loaded
    from, so editing a validator's code invalidates its entries even when nobody bumped
    ``version``. The pieces are encoded unambiguously (``encode_identity``).
    """
    cls = type(instance)
    extra = getattr(instance, "cache_identity", None)
    tool = None if extra is None else str(extra())
    version = str(getattr(instance, "version", ""))
    known = _identities.get(cls)
    if known is not None and known[0] == version and known[1] == tool:
        return known[2]
    identity = encode_identity(cls.__module__, cls.__qualname__, f"{version}+code.{code_digest(cls)}", tool)
    _identities[cls] = (version, tool, identity)
    return identity


_identities: weakref.WeakKeyDictionary[type, tuple[str, str | None, str]] = weakref.WeakKeyDictionary()
"""The identity last encoded for each class, with the version and ``cache_identity()`` it was
encoded from: both are asked for on every call, and a change in either encodes anew."""


_code_digests: weakref.WeakKeyDictionary[type, str] = weakref.WeakKeyDictionary()


def code_digest(cls: type) -> str:
    """A digest of the source files ``cls`` and its bases were loaded from (once per class and process).

    Once per process is exact: Python runs the code it loaded, whatever the file holds now.
    A class with no file (defined interactively) contributes its qualified name only.
    """
    known = _code_digests.get(cls)
    if known is not None:
        return known
    digest = hashlib.blake2b(digest_size=8)
    for klass in cls.__mro__:
        module = sys.modules.get(klass.__module__)
        path = getattr(module, "__file__", None)
        digest.update(f"{klass.__module__}.{klass.__qualname__}\0".encode())
        if path is None or klass.__module__ == "builtins":
            continue
        try:
            with open(path, "rb") as source:
                digest.update(source.read())
        except OSError:
            digest.update(b"unreadable")
    value = _code_digests[cls] = digest.hexdigest()
    return value


def validator_context(instance: Any) -> str:
    """What else the instance's result depends on (``cache_context()``), or ``""``."""
    context = getattr(instance, "cache_context", None)
    return "" if context is None else str(context())


_NO_CONFIG = object()


def validator_config_digest(instance: Any, binding: CacheBinding | None = None) -> str:
    """The config part of ``instance``'s key: the digest of its ``cache_config()``, else of its ``config``.

    Memoised in ``binding`` when it has a memo (inside ``bind_cache``). Raises
    ``ConfigHashError`` (a ``TypeError``) for a config with no canonical form.
    """
    source = getattr(instance, "cache_config", None)
    if source is not None:
        value = source()
    else:
        value = getattr(instance, "config", _NO_CONFIG)
        if value is _NO_CONFIG:
            # Nothing of its own to hash: the run's config, if one was bound, stands in.
            return EMPTY_CONFIG_HASH if binding is None or binding.config_hash is None else binding.config_hash
    digests = None if binding is None else binding.config_digests
    return config_digest(value) if digests is None else digests.digest(value)


@dataclass(slots=True)
class CallPlan:
    """How one decorated call would be cached: its binding, cache, file stamp, key and key parts."""

    binding: CacheBinding
    cache: ValidationCache
    file_path: str
    stamp: FileStamp
    key: str
    path: str
    """The file's path relative to the root, as in the key."""
    config: str
    dimension: str
    validator: str
    context: str

    def parts(self) -> KeyParts:
        """The named parts ``key`` was derived from."""
        return KeyParts(self.path, self.stamp.digest, self.config, self.dimension, self.validator, self.context)


def plan_or_reason(instance: Any, dimension: str) -> CallPlan | str:
    """The cache plan for ``instance.validate()`` now, or why the call runs uncached.

    Uncached: caching disabled, no file, no usable cache, a file that cannot be read
    or changed while read (the validator itself reports that), or an unhashable config.
    """
    if not caching_enabled():
        return DISABLED_REASON
    file_path = getattr(instance, "file_path", None)
    if file_path is None:
        return "the validator has no file (project-level checks run uncached)"
    binding = current_binding() or default_binding()
    cache = binding.cache
    if cache is None:
        return "this run has no cache"
    if not cache.available:
        return f"the cache is unavailable: {cache.unavailable_reason}"
    path = file_path if type(file_path) is str else os.fspath(file_path)
    try:
        stamp = binding.hashes.stamp(path)
    except (OSError, ValueError) as exc:
        return f"the file cannot be read: {exc}"
    if not stamp.steady:
        return "the file changed while it was read"
    try:
        config = validator_config_digest(instance, binding)
    except (TypeError, ValueError) as exc:  # ConfigHashError is a TypeError
        # The validator can still run; only its result has no key to be stored under.
        message = f"{type(instance).__qualname__}'s config cannot be hashed: {exc}"
        cache._warn_once("config", message)
        return message
    relative = relative_key_path(path, getattr(instance, "root", None) or binding.root)
    identity = validator_identity(instance)
    context = validator_context(instance)
    key = binding.keys.key(relative, stamp.digest, config, dimension, identity, context)
    return CallPlan(binding, cache, path, stamp, key, relative, config, dimension, identity, context)


def prefetch(instances: Iterable[Any]) -> int:
    """Plan the coming ``validate()`` of each of ``instances`` and read their entries in one query.

    For a caller that knows a batch of checks before it awaits them (a run's engine): the
    entries are read with one ``ValidationCache.prefetch``, and each instance's plan is
    kept for its next ``validate()``, so no key is derived twice. That call still looks
    at the file and its surroundings: the kept plan serves only while the file's stamp is
    the very one it was made with, its ``cache_context()`` and identity say the same, the
    same binding is in force and caching is on; otherwise the call plans afresh. Its
    entry is verified on lookup as any other. Returns how many entries were found.
    Instances whose ``validate`` is not decorated, or whose calls run uncached, are skipped.
    """
    binding = current_binding() or default_binding()
    cache = binding.cache
    if cache is None or not cache.available or not caching_enabled():
        return 0
    keys: list[str] = []
    prepared = binding.prepared
    token = _planning.set({})
    try:
        for instance in instances:
            if not getattr(getattr(type(instance), "validate", None), CACHED_ATTRIBUTE, False):
                continue  # nothing would take its plan: it would only be held
            try:
                dimension = _decorated_dimension(instance)
            except TypeError:
                continue
            plan = plan_or_reason(instance, dimension)
            if isinstance(plan, str):
                continue
            if len(prepared) >= PREPARED_LIMIT:
                prepared.clear()
            prepared[id(instance)] = (instance, plan)
            keys.append(plan.key)
    finally:
        _planning.reset(token)
    return cache.prefetch(keys) if keys else 0


PREPARED_LIMIT = 1 << 16
"""Plans kept by ``prefetch`` for calls not made yet; past it, they are dropped (the calls plan afresh)."""


def _decorated_dimension(instance: Any) -> str:
    """The dimension ``instance.validate`` is cached under: its decorator's, else its class's."""
    dimension = getattr(getattr(type(instance), "validate", None), DIMENSION_ATTRIBUTE, None)
    return dimension if isinstance(dimension, str) and dimension else _class_dimension(instance)


def _prepared_plan(instance: Any, dimension: str) -> CallPlan | None:
    """The plan ``prefetch`` kept for this call, if it still holds; it is used once either way."""
    binding = current_binding() or default_binding()
    prepared = binding.prepared
    if not prepared:
        return None
    kept = prepared.pop(id(instance), None)
    if kept is None or kept[0] is not instance:
        return None
    plan: CallPlan = kept[1]
    if plan.dimension != dimension or not caching_enabled():  # kept per binding: never another run's
        return None
    try:
        # A trusted stamp comes back as the very object while the file's stat is unchanged.
        if binding.hashes.stamp(plan.file_path) is not plan.stamp:
            return None
    except (OSError, ValueError):
        return None
    if validator_identity(instance) != plan.validator:
        return None
    # What else the result depends on is looked at again, now and outside the planning
    # pass: a config edited since the chunk was planned must not be served the entry
    # made under the old one.
    if validator_context(instance) != plan.context:
        return None
    return plan


def cache_plan(instance: Any, dimension: str) -> CallPlan | None:
    """The cache plan for ``instance.validate()`` now, or None if the call runs uncached."""
    plan = plan_or_reason(instance, dimension)
    return None if isinstance(plan, str) else plan


plan_call = cache_plan
"""The former name of ``cache_plan``, kept: it is public."""


def _about(result: ValidationResult, file_path: str) -> ValidationResult:
    """``result`` naming ``file_path`` as its file, so cold and warm results say the same."""
    return result if result.file_path == file_path else replace(result, file_path=file_path)


def _rerooted(result: ValidationResult, file_path: str, cached: bool) -> ValidationResult:
    """The leader's ``result`` as this waiter's: about its own file (another checkout, perhaps)."""
    own = result.file_path
    if own == file_path:
        findings = list(result.findings)
    else:
        findings = [replace(f, path=file_path) if f.path == own else f for f in result.findings]
    return replace(result, file_path=file_path, findings=findings, cached=cached)


def _bound_file(instance: Any) -> str | None:
    file_path = getattr(instance, "file_path", None)
    return os.fspath(file_path) if isinstance(file_path, (str, os.PathLike)) else None


async def _uncached(wrapped: Callable[[], Awaitable[Any]], instance: Any) -> Any:
    """The call run without the cache; a result of a file-bound validator names the bound file."""
    result = await wrapped()
    file_path = _bound_file(instance)
    if file_path is None or not isinstance(result, ValidationResult):
        return result
    return _about(result, file_path)


def _class_dimension(instance: Any) -> str:
    """The ``dimension`` the instance's class declares; ``TypeError`` when it declares none."""
    dimension = getattr(type(instance), "dimension", None)
    if not isinstance(dimension, str) or not dimension:
        raise TypeError(
            f"{type(instance).__qualname__} has no dimension: set the class attribute `dimension` "
            "or decorate with @cached_validation(dimension=...)"
        )
    return dimension


def cached_validation(dimension: str | None = None, *, ttl: TTL = CACHE_TTL) -> Callable[[F], F]:
    """Cache the result of an ``async def validate(self)`` method by file content and config.

    ``dimension``: the key's dimension. Leave it out (``@cached_validation()``) and the
    class's own ``dimension`` attribute is used, so a validator states it once.

    Concurrent calls with one key run the body once; a call from within the body with
    the same key (``super().validate()``, itself decorated) runs its body directly.
    Exceptions propagate and are never stored; nor is a result with ``error`` set, nor
    one whose file changed during the call. A result of a file-bound validator always
    names the bound file as its ``file_path``, cached or not.

    ``ttl``: seconds an entry lives, ``None`` for no expiry, ``0`` to store nothing; by
    default the ``ttl`` of the cache in use.
    """
    if callable(dimension) and not isinstance(dimension, str):
        raise TypeError("use @cached_validation() (or @cached_validation(dimension=...)), with the parentheses")
    if dimension is not None and (not isinstance(dimension, str) or not dimension):
        raise TypeError(f"dimension must be a non-empty str, not {dimension!r}")
    check_ttl(ttl)

    def decorate(func: F) -> F:
        if not inspect.iscoroutinefunction(func):
            raise TypeError(
                "@cached_validation wraps an async def; "
                f"{getattr(func, '__qualname__', func)!r} is not a coroutine function"
            )
        if dimension is not None:
            setattr(func, DIMENSION_ATTRIBUTE, dimension)
        setattr(func, CACHED_ATTRIBUTE, True)

        @wrapt.decorator
        async def wrapper(
            wrapped: Callable[..., Awaitable[Any]], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Any:
            if instance is None or args or kwargs:
                return await wrapped(*args, **kwargs)
            wanted = dimension or _class_dimension(instance)
            plan = _prepared_plan(instance, wanted) or plan_or_reason(instance, wanted)
            if isinstance(plan, str):
                return await _uncached(wrapped, instance)
            cache = plan.cache
            hit = cache.lookup(plan.key, plan.file_path)
            if hit is None and cache.remote is not None:
                hit = await remote_lookup(cache, plan.key, plan.file_path)
            if hit is not None:
                return hit
            key = plan.key
            in_flight = _in_flight.get()
            if key in in_flight:
                # Called from the body of this very flight (an override calling a decorated
                # super().validate()): joining the flight would wait on itself forever. The
                # outer call stores the result; this one just runs.
                result = await wrapped()
                return _about(result, plan.file_path) if isinstance(result, ValidationResult) else result

            async def compute() -> tuple[Any, bool]:
                token = _in_flight.set(in_flight | {key})
                try:
                    result = await wrapped()
                finally:
                    _in_flight.reset(token)
                if not isinstance(result, ValidationResult):
                    return result, False
                result = _about(result, plan.file_path)
                if result.error is None and plan.binding.hashes.unchanged_since(plan.file_path, plan.stamp):
                    stored = cache.store(key, replace(result, cached=False), ttl, plan.parts())
                    return result, stored
                return result, False

            work = functools.partial(leased, cache, key, plan.file_path, compute, ttl)
            (result, stored), led = await cache.flights.run(key, work)
            if led or not isinstance(result, ValidationResult):
                return result
            return _rerooted(result, plan.file_path, stored)

        return wrapper(func)  # type: ignore[return-value]

    return decorate
