"""``memo render``: write a project's ``orchestrator.py`` from the template shipped in this package.

The template (``templates/orchestrator.py.j2``, the repository's ``orchestrator.py.j2``)
holds only what varies between projects: which validators, the defaults, the project's
name. Everything else is imported from ``memo.engine``, so a rendered file receives
engine fixes with every upgrade of memo.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from memo.validators import Validator

TEMPLATE = "orchestrator.py.j2"


def template_source() -> str:
    """The template's text, as installed with this package."""
    return resources.files("memo.cli").joinpath("templates").joinpath(TEMPLATE).read_text(encoding="utf-8")


PROJECT_NAME = re.compile(r"[A-Za-z0-9._ -]{1,40}")

LINE_LENGTH = 88
"""Literals longer than this are split one item a line, as ``ruff format`` would split them."""


def python_literal(value: Any, indent: int = 0, prefix_width: int = 0) -> str:
    """``value`` as Python source in ``ruff format``'s style: double quotes, sorted keys, split when long.

    Config values are JSON-like (tables, arrays, strings, numbers, booleans), so that is
    all this needs to print; the rendered file is lint- and format-clean as it stands.
    """
    flat = _flat(value)
    if indent + prefix_width + len(flat) <= LINE_LENGTH or not isinstance(value, (dict, list, tuple)) or not value:
        return flat
    inner = " " * (indent + 4)
    if isinstance(value, dict):
        items = [
            f"{inner}{_flat(key)}: {python_literal(item, indent + 4, len(_flat(key)) + 2)},"
            for key, item in sorted(value.items())
        ]
        opening, closing = "{", "}"
    else:
        items = [f"{inner}{python_literal(item, indent + 4)}," for item in value]
        opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
    return "\n".join([opening, *items, " " * indent + closing])


def _flat(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (dict, list, tuple)):
        return _flat_container(value)
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    raise ValueError(f"config value {value!r} is a {type(value).__name__}, not a TOML/JSON value")


def _flat_container(value: dict[Any, Any] | list[Any] | tuple[Any, ...]) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flat(key)}: {_flat(item)}" for key, item in sorted(value.items())) + "}"
    items = ", ".join(_flat(item) for item in value)
    if isinstance(value, list):
        return f"[{items}]"
    return f"({items}{',' if len(value) == 1 else ''})"


def _pyrepr(value: Any) -> str:
    """The Jinja filter: ``python_literal`` at the top level."""
    return python_literal(value, 0, 30)


_ALWAYS_IMPORTED = (("memo.engine", "Engine, OrchestratorError, Progress, Report"), ("memo.validators", "Validator"))


def _imports(validators: Sequence[type[Validator]] | None) -> list[tuple[str, str]]:
    """``(module, class name)`` per validator class, in order, each once."""
    if validators is None:
        return []
    seen: dict[tuple[str, str], None] = {}
    for cls in validators:
        if not cls.__qualname__.isidentifier() or keyword.iskeyword(cls.__qualname__):
            raise ValueError(f"{cls.__module__}.{cls.__qualname__} cannot be imported by name")
        seen[(cls.__module__, cls.__qualname__)] = None
    return list(seen)


def _tuple_of_names(names: tuple[str, ...]) -> str:
    flat = "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"
    if len(flat) + 60 <= LINE_LENGTH:
        return flat
    return "(\n" + "".join(f"    {name},\n" for name in names) + ")"


def render_orchestrator(
    validators: Sequence[type[Validator]] | None = None,
    jobs: int | None = None,
    config: Mapping[str, Any] | None = None,
    project: str | None = None,
) -> str:
    """The source of ``orchestrator.py`` with these defaults; with none, the shipped file exactly.

    ``ValueError`` for a project name that would not sit safely in a docstring and a line.
    """
    import jinja2

    if project is not None and not PROJECT_NAME.fullmatch(project):
        raise ValueError(f"project name {project!r} must be 1 to 40 letters, digits, '.', '_', '-' or spaces")

    environment = jinja2.Environment(
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # nosec B701 - renders Python source, not HTML
    )
    environment.filters["pyrepr"] = _pyrepr
    imports = _imports(validators)
    names = None if validators is None else tuple(name for _, name in imports)
    return environment.from_string(template_source()).render(
        imports=sorted({*imports, *_ALWAYS_IMPORTED}),
        validators="None" if names is None else _tuple_of_names(names),
        jobs=jobs,
        config={} if config is None else dict(config),
        project=project,
    )
