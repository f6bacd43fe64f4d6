"""Finding validators: installed ones through an entry-point group, the project's own through its config.

Built-in validators are found the same way as anyone else's: each is an entry point in
the ``memo.validators`` group (see pyproject.toml), named by its dimension. A project's
own classes, which are not installed, are named in ``[tool.memo] validators`` as
``"package.module:Class"`` and imported from the project root, only when the run trusts
the project (``memo.engine.trust``). Nothing else of the project or of the working
directory is ever imported.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from memo import validators
from memo.credentials import drop_writer_keys
from memo.engine.config import validator_specs
from memo.engine.errors import EngineError
from memo.engine.trust import Trust, resolve_trust
from memo.validators import Validator
from memo.validators import _context as validator_context

ENTRY_POINT_GROUP = "memo.validators"

log = logging.getLogger("memo")


def _checked(cls: Any, where: str) -> type[Validator]:
    """``cls`` if it is a usable validator class, else ``EngineError`` saying why not."""
    if not (isinstance(cls, type) and issubclass(cls, Validator)):
        raise EngineError(f"{where}: {cls!r} is not a subclass of memo.validators.Validator")
    if not isinstance(cls.dimension, str) or not cls.dimension:
        raise EngineError(f"{where}: {cls.__qualname__} has no dimension")
    if not inspect.iscoroutinefunction(cls.validate) and not inspect.iscoroutinefunction(
        getattr(cls.validate, "__wrapped__", None)
    ):
        raise EngineError(f"{where}: {cls.__qualname__}.validate must be an async def")
    return cls


@functools.lru_cache(maxsize=1)
def installed() -> dict[str, type[Validator]]:
    """Every validator registered in the ``memo.validators`` entry-point group, by dimension."""
    found: dict[str, type[Validator]] = {}
    for point in sorted(validator_context.entry_points(ENTRY_POINT_GROUP), key=lambda point: point.name):
        where = f"entry point {point.name} = {point.value!r}"
        try:
            cls = _checked(point.load(), where)
        except EngineError:
            raise
        except Exception as exc:  # a broken plugin package: say which, do not crash
            raise EngineError(f"{where} cannot be loaded: {type(exc).__name__}: {exc}") from None
        found.setdefault(cls.dimension, cls)
    return found


def load_class(spec: str, root: Path) -> type[Validator]:
    """The class ``"package.module:Class"``, imported with ``root`` first on the import path."""
    module_name, _, qualname = spec.partition(":")
    where = f"config 'validators' entry {spec!r}"
    added = str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except Exception as exc:
        raise EngineError(f"{where} cannot be imported: {type(exc).__name__}: {exc}") from None
    finally:
        if added:
            sys.path.remove(str(root))
    return _checked(target, where)


def not_loaded(config: Mapping[str, Any], trust: Trust | str | bool | None = None) -> tuple[str, ...]:
    """The project's validators (``"package.module:Class"``) the config names and this run does not load."""
    specs = validator_specs(config)
    return () if not specs or resolve_trust(trust).loads_project_code else tuple(specs)


def _before_project_code(trust: Trust) -> None:
    """Drop the writer keys from this process unless the user kept them (``Trust.WITH_KEYS``)."""
    if trust is Trust.WITH_KEYS:
        return
    dropped = drop_writer_keys()
    if dropped:
        log.warning(
            "memo: warning: the project's validators run in this process, so %s %s left out: this run writes "
            "no shared results (--trust-project=with-keys keeps %s)",
            " and ".join(dropped),
            "is" if len(dropped) == 1 else "are",
            "it" if len(dropped) == 1 else "them",
        )


def registry(
    config: Mapping[str, Any], root: Path, trust: Trust | str | bool | None = None
) -> dict[str, type[Validator]]:
    """Every validator this project can run, by dimension: installed ones, then the project's own if trusted.

    ``trust``: ``--trust-project``'s value; None reads ``$VALIDATION_CACHE_TRUST_PROJECT``.
    Before the first of the project's modules is imported, the writer keys leave this
    process's environment (unless the trust is ``with-keys``).
    """
    found = dict(installed())
    specs = validator_specs(config)
    level = resolve_trust(trust)
    if not specs or not level.loads_project_code:
        return found
    _before_project_code(level)
    for spec in specs:
        cls = load_class(spec, root)
        if cls.dimension in found and found[cls.dimension] is not cls:
            raise EngineError(
                f"config 'validators' entry {spec!r}: dimension {cls.dimension!r} is already taken by "
                f"{found[cls.dimension].__module__}.{found[cls.dimension].__qualname__}"
            )
        found[cls.dimension] = cls
    return found


def resolve(names: Iterable[str], known: Mapping[str, type[Validator]]) -> list[type[Validator]]:
    """The classes for ``names``, in order, each once; ``EngineError`` for an unknown name, with the closest."""
    try:
        return validators.resolve(names, known)
    except ValueError as exc:
        raise EngineError(str(exc)) from None


def default_validators(known: Mapping[str, type[Validator]]) -> list[type[Validator]]:
    """The validators run when none are named: every per-file one (project-wide ones are slow)."""
    return [cls for cls in known.values() if cls.per_file]
