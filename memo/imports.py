"""The first-party modules a Python file imports, transitively, as a digest for a cache key.

A checker that infers across modules (pylint, a type checker, a validator of your own)
gives a result for one file that depends on every first-party module that file imports,
directly or through others. ``ImportGraph.digest(path)`` is a short digest of exactly
that: for each module in the file's import closure, its path and content digest, and
for every module name asked for along the way, what it resolved to (a file, a namespace
directory, or nothing). Editing a module therefore changes the digest of exactly the
files that import it, directly or not; adding a module that shadows a name, or removing
one, changes the digest of the files that ask for that name; an unrelated edit changes
nothing.

Resolution follows Python's import system over a list of import roots (``sys.path``
entries inside the project): ``a.b.c`` asks for ``a``, ``a.b`` and ``a.b.c``; a
top-level name is looked for in each root in order (a package's ``__init__.py``, then a
module ``a.py``, else a namespace directory spanning every root that has one); a
submodule in its package's directories. ``import_roots(files)`` gives the roots a tool
like pylint derives from the files it is given: each file's package base, the first
ancestor without ``__init__.py``. Imports anywhere in a module count (inside functions,
``try`` blocks, ``if TYPE_CHECKING``); ``from a import b`` asks for ``a.b`` too, since
``b`` may be a submodule.

Knowingly not observed: modules outside the roots (the standard library, installed
packages: their versions belong in the validator's identity), imports spelt at run time
(``importlib.import_module(name)``), and extension modules. Module files are read through a
``HashMemo`` (a stat per lookup, bytes read again only when the stat changed); what a file
imports is parsed once per content digest; resolutions are remembered for the life of the
graph, so make one graph per run.
"""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from memo.hashing import HashMemo
from memo.recent import Recent

_PARSED: Recent[tuple[str, str, bool], tuple[str, ...]] = Recent(1 << 16)
"""Absolute module names a module asks for, by (content digest, module name, is a package)."""


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a module name resolved to: a file (module or ``__init__.py``), a namespace, or nothing."""

    name: str
    file: str | None
    """The module's source file; None for a namespace package or an unresolved name."""
    directories: tuple[str, ...]
    """Where its submodules are looked for (a package's directory, a namespace's portions)."""

    @property
    def found(self) -> bool:
        return self.file is not None or bool(self.directories)


def package_base(path: str) -> str:
    """The first ancestor directory of ``path`` without an ``__init__.py``: the ``sys.path`` entry it imports from."""
    directory = os.path.dirname(os.path.abspath(path))
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return directory


def import_roots(files: Iterable[str]) -> list[str]:
    """The package bases of ``files`` (Python files), each once, in the order first seen."""
    roots: dict[str, None] = {}
    bases: dict[str, str] = {}
    for path in files:
        directory = os.path.dirname(os.path.abspath(path))
        base = bases.get(directory)
        if base is None:
            base = bases[directory] = package_base(path)
        roots.setdefault(base, None)
    return list(roots)


def module_name(path: str, base: str) -> tuple[str, bool]:
    """``(dotted name, is a package)`` of the module at ``path`` imported from ``base``."""
    relative = os.path.relpath(os.path.abspath(path), base)
    parts = relative.split(os.sep)
    stem = os.path.splitext(parts[-1])[0]
    if stem == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join([*parts[:-1], stem]), False


def requested_names(source: bytes, name: str, is_package: bool) -> tuple[str, ...]:
    """Every absolute module name the source asks for, in order, each once (none if it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ()
    package = name if is_package else name.rpartition(".")[0]
    wanted: dict[str, None] = {}

    def ask(dotted: str) -> None:
        parts = dotted.split(".")
        for end in range(1, len(parts) + 1):
            wanted.setdefault(".".join(parts[:end]), None)

    for node in _statements(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                ask(alias.name)
        elif isinstance(node, ast.ImportFrom):
            module = node.module.split(".") if node.module else []
            if node.level:
                anchor = package.split(".") if package else []
                # Beyond the top-level package Python refuses the import, but astroid resolves
                # ``from . import x`` beside a module outside any package: the names are then
                # asked for as absolute ones (asking for more is never stale).
                beyond = node.level - 1 >= len(anchor)
                anchor = [] if beyond else anchor[: len(anchor) - (node.level - 1)]
                target = ".".join([*anchor, *module])
            else:
                target = ".".join(module)
            if target:
                ask(target)
            for alias in node.names:
                if alias.name != "*":
                    ask(f"{target}.{alias.name}" if target else alias.name)
    return tuple(wanted)


_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def _statements(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every statement, nested ones included, in source order: imports are statements, so
    expressions (most of a tree) are never visited."""
    pending: list[ast.AST] = list(reversed(body))
    while pending:
        node = pending.pop()
        yield node
        for field in _BODIES:
            children = getattr(node, field, None)
            if children:
                pending.extend(reversed(children))


class ImportGraph:
    """The import closure of Python files over a fixed list of import roots (one graph per run).

    ``root`` (the project root) is what paths in a digest are relative to, so two
    checkouts of one tree in different places get the same digests.
    """

    def __init__(self, roots: Sequence[str], root: str, hashes: HashMemo | None = None) -> None:
        self.roots = tuple(os.path.abspath(place) for place in roots)
        self.root = os.path.abspath(root)
        self._hashes = hashes if hashes is not None else HashMemo()
        self._resolved: dict[str, Resolved] = {}
        self._bases: dict[str, str] = {}
        self._shown_paths: dict[str, str] = {}
        self._where: dict[str, str] = {}
        self._edges: dict[tuple[str, str, str, bool], tuple[tuple[str, ...], tuple[tuple[str, str, bool], ...]]] = {}
        self._digests: dict[tuple[object, ...], str] = {}

    def resolve(self, name: str) -> Resolved:
        """What ``name`` imports from these roots, as Python's path finder would find it."""
        known = self._resolved.get(name)
        if known is not None:
            return known
        parent, _, last = name.rpartition(".")
        places = self.roots if not parent else self.resolve(parent).directories
        found = Resolved(name, None, ())
        portions: list[str] = []
        for place in places:
            directory = os.path.join(place, last)
            init = os.path.join(directory, "__init__.py")
            if os.path.isfile(init):
                found = Resolved(name, init, (directory,))
                break
            module = directory + ".py"
            if os.path.isfile(module):
                found = Resolved(name, module, ())
                break
            if os.path.isdir(directory):
                portions.append(directory)
        else:
            if portions:
                found = Resolved(name, None, tuple(portions))
        self._resolved[name] = found
        return found

    def own_name(self, path: str) -> tuple[str, bool]:
        """``(dotted name, is a package)`` of the file at ``path``, imported from its package base."""
        directory = os.path.dirname(path)
        base = self._bases.get(directory)
        if base is None:
            base = self._bases[directory] = package_base(path)
        return module_name(path, base)

    def closure(self, path: str) -> dict[str, tuple[str, tuple[str, ...]]]:
        """``{module file: (content digest, names it asks for)}`` for ``path`` and every first-party
        module it imports, transitively."""
        path = os.path.abspath(path)
        seen: dict[str, tuple[str, tuple[str, ...]]] = {}
        name, is_package = self.own_name(path)
        pending = [(path, name, is_package)]
        while pending:
            current, name, is_package = pending.pop()
            if current in seen:
                continue
            try:
                digest = self._hashes.stamp(current).digest
            except (OSError, ValueError):
                seen[current] = ("unreadable", ())
                continue
            edge_key = (current, digest, name, is_package)
            edges = self._edges.get(edge_key)
            if edges is None:
                asked = _requests(current, digest, name, is_package)
                found = []
                for wanted in asked:
                    resolved = self.resolve(wanted)
                    if resolved.file is not None:
                        found.append((resolved.file, wanted, bool(resolved.directories)))
                edges = self._edges[edge_key] = (asked, tuple(found))
            seen[current] = (digest, edges[0])
            pending.extend(item for item in edges[1] if item[0] not in seen)
        return seen

    def digest(self, path: str) -> str:
        """A digest of what ``path``'s import closure holds: modules, their bytes, and every resolution asked for.

        The file's own bytes are left out (a cache key holds them already); its module
        name is in (it decides relative imports).
        """
        path = os.path.abspath(path)
        modules = self.closure(path)
        name, is_package = self.own_name(path)
        memo_key = (path, name, is_package, *sorted((module, digest) for module, (digest, _) in modules.items()))
        known = self._digests.get(memo_key)
        if known is not None:
            return known
        hasher = hashlib.blake2b(digest_size=16)
        hasher.update(f"module {name} {is_package}\0".encode())
        asked: dict[str, None] = {}
        for module, (digest, names) in sorted(modules.items()):
            if module != path:
                hasher.update(f"file {self._shown(module)} {digest}\0".encode())
            asked.update(dict.fromkeys(names))
        for wanted in sorted(asked):
            where = self._where.get(wanted)
            if where is None:
                resolved = self.resolve(wanted)
                shown = [self._shown(resolved.file)] if resolved.file else [*map(self._shown, resolved.directories)]
                where = self._where[wanted] = ",".join(shown) or "-"
            hasher.update(f"name {wanted} {where}\0".encode())
        value = self._digests[memo_key] = hasher.hexdigest()
        return value

    def _shown(self, path: str | None) -> str:
        """A path as it goes into the digest: relative to the project root."""
        if path is None:
            return "-"
        shown = self._shown_paths.get(path)
        if shown is None:
            shown = self._shown_paths[path] = os.path.relpath(path, self.root)
        return shown


def _requests(path: str, digest: str, name: str, is_package: bool) -> tuple[str, ...]:
    """The names the module at ``path`` asks for, parsed once per content digest and name."""
    memo_key = (digest, name, is_package)
    found = _PARSED.get(memo_key)
    if found is None:
        try:
            with open(path, "rb") as handle:
                source = handle.read()
        except OSError:
            source = b""
        found = _PARSED[memo_key] = requested_names(source, name, is_package)
    return found
