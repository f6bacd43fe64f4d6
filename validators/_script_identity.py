"""A console script's identity read from installed metadata, without starting the program.

Asking ``pylint --version`` costs a Python start and pylint's imports (about half a
second), on every run, before the first cache lookup. When the program is a console
script of a distribution installed in memo's own environment (its shebang names this
interpreter), the same facts are in the environment's metadata: the distribution's
version, and the versions of everything it requires, transitively (astroid for pylint:
an astroid upgrade changes pylint's findings but not ``pylint --version``'s first line).
With the interpreter, that is the identity. Anything else (a program elsewhere, a
script of another environment) is asked with its version command.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import sys
import sysconfig

from memo.validators import _context

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _interpreter_of(script: str) -> str | None:
    try:
        with open(script, "rb") as handle:
            first = handle.readline(4096)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode("utf-8", "replace").split()
    return words[0] if words else None


@functools.cache
def script_identity(path: str) -> str | None:
    """``"pylint 4.1.5 (astroid 4.4.0, ...) on cpython 3.11.7"``, or None when the metadata cannot tell."""
    if os.path.dirname(os.path.realpath(path)) != os.path.realpath(sysconfig.get_path("scripts")):
        return None
    interpreter = _interpreter_of(path)
    if interpreter is None or os.path.realpath(interpreter) != os.path.realpath(sys.executable):
        return None
    name = os.path.basename(path)
    owners = [point.dist for point in _context.entry_points("console_scripts") if point.name == name]
    if len(owners) != 1 or owners[0] is None:
        return None
    top = owners[0]
    versions = _installed_closure(top.metadata["Name"])
    own = _normal(top.metadata["Name"])
    rest = ", ".join(f"{name} {version}" for name, version in sorted(versions.items()) if name != own)
    return f"{own} {versions.get(own, top.version)} ({rest}) on {_context.interpreter()}"


def _installed_closure(name: str) -> dict[str, str]:
    """The version of ``name`` and of everything it requires, transitively, that is installed, by normalised name."""
    versions: dict[str, str] = {}
    pending = [name]
    while pending:
        wanted = _normal(pending.pop())
        if wanted in versions:
            continue
        try:
            dist = importlib.metadata.distribution(wanted)
        except importlib.metadata.PackageNotFoundError:
            continue  # an optional requirement that is not installed
        versions[wanted] = dist.version
        for requirement in dist.requires or ():
            match = _NAME.match(requirement)
            if match is not None:
                pending.append(match.group())
    return versions
