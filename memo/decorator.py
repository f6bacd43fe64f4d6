"""``@cached_validation``: serve ``async def validate(self)`` from the cache when nothing changed.

The wrapper reads what it needs from the instance by duck typing (``file_path``,
``root``, ``config``, ``version``, optionally ``cache_identity()`` and
``cache_context()``), so memo knows nothing of any particular validator class.

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

import functools
import inspect
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import wrapt

from memo.binding import CacheBinding, caching_enabled, current_binding, default_binding
from memo.cache import DEFAULT_TTL, ValidationCache
from memo.hashing import FileStamp
from memo.keys import config_hash, key_string, relative_key_path
from memo.results import ValidationResult
from memo.tiered import leased, remote_lookup

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def validator_identity(instance: Any) -> str:
    """Who computed a result: the class's module and qualname, its version and tool versions.

    A class may add to it through ``cache_identity()`` (for example the version of the
    external tool it runs), so upgrading the tool invalidates its entries.
    """
    cls = type(instance)
    identity = f"{cls.__module__}.{cls.__qualname__}@{getattr(instance, 'version', '')}"
    extra = getattr(instance, "cache_identity", None)
    if extra is not None:
        identity = f"{identity}+{extra()}"
    return identity


def validator_context(instance: Any) -> str:
    """What else the instance's result depends on (``cache_context()``), or ``""``."""
    context = getattr(instance, "cache_context", None)
    return "" if context is None else str(context())


@dataclass(slots=True)
class CallPlan:
    """How one decorated call would be cached: its binding, cache, file stamp and key."""

    binding: CacheBinding
    cache: ValidationCache
    file_path: str
    stamp: FileStamp
    key: str


def plan_call(instance: Any, dimension: str) -> CallPlan | None:
    """The cache plan for ``instance.validate()`` now, or None if the call runs uncached.

    Uncached: caching disabled, no file, no usable cache, or a file that cannot be read
    (the validator itself reports that).
    """
    if not caching_enabled():
        return None
    file_path = getattr(instance, "file_path", None)
    if file_path is None:
        return None
    binding = current_binding() or default_binding()
    cache = binding.cache
    if cache is None or not cache.available:
        return None
    path = os.fspath(file_path)
    try:
        stamp = binding.hashes.stamp(path)
    except (OSError, ValueError):
        return None
    if not stamp.steady:
        return None
    run_config = binding.config_hash
    if run_config is None:
        try:
            run_config = config_hash(getattr(instance, "config", None))
        except (TypeError, ValueError) as exc:  # ConfigHashError is a TypeError
            # The validator can still run; only its result has no key to be stored under.
            cache._warn_once("config", f"{type(instance).__qualname__}'s config cannot be hashed: {exc}")
            return None
    root = getattr(instance, "root", None) or binding.root
    key = key_string(
        relative_key_path(path, root),
        stamp.digest,
        run_config,
        dimension,
        validator_identity(instance),
        context=validator_context(instance),
    )
    return CallPlan(binding, cache, path, stamp, key)


def cached_validation(dimension: str, *, ttl: int | None = DEFAULT_TTL) -> Callable[[F], F]:
    """Cache the result of an ``async def validate(self)`` method by file content and config.

    Concurrent calls with one key run the body once. Exceptions propagate and are never
    stored; nor is a result with ``error`` set, nor one whose file changed during the call.
    """
    if callable(dimension) and not isinstance(dimension, str):
        raise TypeError("use @cached_validation(dimension=...), with the dimension named")
    if not isinstance(dimension, str) or not dimension:
        raise TypeError(f"dimension must be a non-empty str, not {dimension!r}")
    if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0):
        raise ValueError(f"ttl must be a non-negative int or None, not {ttl!r}")

    def decorate(func: F) -> F:
        if not inspect.iscoroutinefunction(func):
            raise TypeError(
                "@cached_validation wraps an async def; "
                f"{getattr(func, '__qualname__', func)!r} is not a coroutine function"
            )

        @wrapt.decorator
        async def wrapper(
            wrapped: Callable[..., Awaitable[Any]], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Any:
            if instance is None or args or kwargs:
                return await wrapped(*args, **kwargs)
            plan = plan_call(instance, dimension)
            if plan is None:
                return await wrapped()
            cache = plan.cache
            hit = cache.lookup(plan.key, plan.file_path)
            if hit is None and cache.remote is not None:
                hit = await remote_lookup(cache, plan.key, plan.file_path)
            if hit is not None:
                return hit

            async def compute() -> tuple[Any, bool]:
                result = await wrapped()
                if (
                    isinstance(result, ValidationResult)
                    and result.error is None
                    and plan.binding.hashes.unchanged_since(plan.file_path, plan.stamp)
                ):
                    stored = cache.store(plan.key, replace(result, file_path=plan.file_path, cached=False), ttl)
                    return result, stored
                return result, False

            work = (
                compute if cache.remote is None else functools.partial(leased, cache, plan.key, plan.file_path, compute)
            )
            (result, stored), led = await cache.flights.run(plan.key, work)
            if led or not isinstance(result, ValidationResult):
                return result
            return replace(result, cached=stored, findings=list(result.findings))

        return wrapper(func)  # type: ignore[return-value]

    return decorate
