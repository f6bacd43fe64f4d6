"""Declared checkers: any command-line checker, from a config table or a small subclass.

``[tool.memo.checkers.NAME]`` (see ``memo.validators._checker_spec`` for its keys)
becomes a class ``Checker.declare(NAME, table, root)``: a per-file, batched validator
whose dimension is ``NAME``, so it gets memo's keys, batching, single flight, shared
tier, leases, reports and ``memo explain`` like a built-in one. The same in Python::

    class Pylint(Checker):
        dimension = "pylint"
        declaration = {"command": ["pylint", "{files}"], "files": ["*.py"], ...}

What a result depends on, and so what its key holds:

- the file's bytes and path (every key has them);
- the declaration itself (``cache_config()``): editing any key is a miss;
- the tool's identity: its name and the whole output of its version command, or for a
  console script of memo's own environment the versions its metadata names
  (``cache_identity()``), asked once per process;
- the witnesses (``cache_context()``): the bytes of each declared config file, or its
  absence (creating one is a miss);
- with ``reads = "imports"``: the file's import closure (``memo.imports.ImportGraph``:
  every first-party module it imports, transitively, and every resolution asked for),
  and the import roots, which memo also gives the tool through ``{import_roots}``.

After the tool ran, the witnesses and the closure are looked at again: if any changed
meanwhile, the result is an error (never stored) asking for another run, as bandit's
config is checked. Running a declared command is running code the checkout names: it is
as trusted as ``[tool.memo] validators`` (``memo.engine.trust``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess  # nosec B404 - the declared checker's version command, fixed argv, no shell
import sysconfig
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from memo import ValidationResult, cached_validation, current_binding
from memo.binding import CacheBinding
from memo.imports import ImportGraph, import_roots
from memo.validators import _context, _process
from memo.validators._batched import BatchedValidator
from memo.validators._checker_output import OutputError, split
from memo.validators._checker_spec import (
    FILES_PLACEHOLDER,
    ROOTS_PLACEHOLDER,
    CheckerSpec,
    DeclarationError,
    parse,
)
from memo.validators._outcome import Outcome
from memo.validators._script_identity import script_identity
from memo.validators._tools import Tool

if TYPE_CHECKING:
    import pathspec


@functools.cache
def _locate(executable: str, root: str) -> str | None:
    """The program: a path (relative to the project root, where it runs), else a name looked up
    in this interpreter's scripts directory first (its venv), then PATH."""
    if os.sep in executable or (os.altsep and os.altsep in executable):
        path = os.path.join(root, os.path.expanduser(executable))
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    scripts = sysconfig.get_path("scripts")
    return shutil.which(executable, path=os.pathsep.join(filter(None, [scripts, os.environ.get("PATH")])))


@functools.cache
def _version(found: str, command: tuple[str, ...]) -> str:
    """The whole output of the version command (pylint names astroid and Python there too)."""
    try:
        completed = subprocess.run(  # nosec B603 - the declared version command, no shell
            [found, *command[1:]], capture_output=True, timeout=60, check=False, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({type(exc).__name__})"
    text = (completed.stdout or completed.stderr).decode("utf-8", "replace")
    return " ".join(text.split()) or f"unknown (exit status {completed.returncode})"


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"unreadable: {exc.strerror}".encode()


@dataclass(frozen=True)
class CheckerSettings:
    """How one batch runs: where, with which environment additions."""

    root: str
    env: tuple[tuple[str, str], ...]
    roots: tuple[str, ...]


class Checker(BatchedValidator):
    """A command-line checker described by a declaration (``declaration``, or a config table)."""

    version: ClassVar[str] = "1"
    declaration: ClassVar[Mapping[str, Any] | None] = None
    """The declaration's keys, as in ``[tool.memo.checkers.NAME]``."""
    spec: ClassVar[CheckerSpec | None] = None
    project_root: ClassVar[str | None] = None
    """Where ``files`` globs are relative to (the working directory when unset)."""
    runs_by_default: ClassVar[bool] = True
    """Whether a run with no ``--dimension`` runs it (the declaration's ``default``)."""
    _globs: ClassVar[pathspec.GitIgnoreSpec | None] = None
    _planned: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.declaration is not None and "spec" not in cls.__dict__:
            cls.spec = parse(cls.dimension, cls.declaration)
        spec = cls.spec
        if spec is not None:
            import pathspec

            cls.tool = spec.executable
            cls.default_timeout = spec.timeout
            cls.runs_by_default = spec.default
            cls._globs = pathspec.GitIgnoreSpec.from_lines(spec.files)
            if not spec.batch:
                cls.max_batch = 1

    @classmethod
    def declare(cls, name: str, table: Mapping[str, Any], root: Path | str | None = None) -> type[Checker]:
        """The class for ``[tool.memo.checkers.NAME]``; ``DeclarationError`` (one line) for a bad table."""
        attributes = {
            "dimension": name,
            "declaration": dict(table),
            "project_root": None if root is None else os.path.abspath(root),
            "__module__": cls.__module__,
            "__qualname__": f"{cls.__qualname__}[{name}]",
        }
        return type(f"{cls.__name__}[{name}]", (cls,), attributes)

    @classmethod
    def applies_to(cls, path: Path) -> bool:
        globs = cls._globs
        if globs is None:
            return False
        relative = os.path.relpath(os.path.abspath(path), cls.project_root or os.getcwd())
        return not relative.startswith(os.pardir) and globs.match_file(relative.replace(os.sep, "/"))

    def _spec(self) -> CheckerSpec:
        spec = type(self).spec
        if spec is None:
            raise TypeError(f"{type(self).__qualname__} has no declaration")
        return spec

    def find(self) -> Tool | None:
        spec = self._spec()
        found = _locate(spec.executable, self.project_dir())
        if found is None:
            return None
        version = script_identity(found) if not spec.version else None
        return Tool(spec.name, (found,), version or _version(found, spec.version_command))

    def cache_identity(self) -> str:
        """The program's name and its whole version output: an upgrade is a miss.

        Not where it is installed, so machines with the same versions share entries.
        """
        found = _context.observed(("memo.checker.tool", self.dimension), self.find)
        name = os.path.basename(self.tool)
        return f"{name} not installed" if found is None else f"{name}: {found.version}"

    def cache_config(self) -> Mapping[str, Any]:
        """The declaration: any edit to it is a miss."""
        return self._spec().table

    def project_dir(self) -> str:
        return os.path.abspath(self.root if self.root is not None else (type(self).project_root or os.curdir))

    # -- what else a result depends on --------------------------------------------------------

    def _witness_paths(self) -> list[str]:
        root = self.project_dir()
        return [os.path.join(root, os.path.expanduser(name)) for name in self._spec().witnesses]

    def witness_digest(self) -> str:
        """The declared witnesses' bytes (or absence), read now."""
        hasher = hashlib.blake2b(digest_size=16)
        for name, path in zip(self._spec().witnesses, self._witness_paths(), strict=True):
            data = _read(path)
            hasher.update(f"{name}\0{'absent' if data is None else len(data)}\0".encode())
            hasher.update(data or b"")
        return hasher.hexdigest()

    def _graph(self) -> ImportGraph:
        binding = current_binding()
        kept = None if binding is None else _graphs.get(id(binding))
        if kept is not None and kept[0]() is binding and kept[1].root == self.project_dir():
            return kept[1]
        graph = ImportGraph(self.import_roots(), self.project_dir(), None if binding is None else binding.hashes)
        if binding is not None:
            if len(_graphs) > 64:
                _graphs.clear()
            _graphs[id(binding)] = (weakref.ref(binding), graph)
        return graph

    def import_roots(self) -> list[str]:
        """The package bases of every Python file this checker covers, as the tool given them all would derive."""
        root = self.project_dir()
        key = ("memo.checker.roots", self.dimension, root)
        return list(_context.observed(key, lambda: _project_roots(type(self), root)))

    def cache_context(self) -> str:
        parts = [f"witnesses {_context.observed(('memo.checker.witnesses', self.dimension), self.witness_digest)}"]
        if self._spec().reads == "imports" and self.file_path is not None:
            graph = self._graph()
            root = self.project_dir()
            shown = [os.path.relpath(place, root) for place in graph.roots]
            parts.append(f"roots {','.join(shown)} imports {graph.digest(os.fspath(self.file_path))}")
        context = "; ".join(parts)
        self._planned = context
        return context

    def _fresh_context(self) -> str:
        """The context as it is now, outside any planning pass."""
        parts = [f"witnesses {self.witness_digest()}"]
        if self._spec().reads == "imports" and self.file_path is not None:
            graph = self._graph()
            fresh = ImportGraph(graph.roots, graph.root)
            shown = [os.path.relpath(place, graph.root) for place in graph.roots]
            parts.append(f"roots {','.join(shown)} imports {fresh.digest(os.fspath(self.file_path))}")
        return "; ".join(parts)

    # -- running -------------------------------------------------------------------------------

    def settings(self) -> CheckerSettings:
        spec = self._spec()
        roots = tuple(self._graph().roots) if spec.reads == "imports" else ()
        return CheckerSettings(self.project_dir(), spec.env, roots)

    @classmethod
    async def check_chunk(
        cls, tool: Tool, paths: Sequence[str], settings: CheckerSettings, timeout: float
    ) -> Mapping[str, Outcome]:
        spec = cls.spec
        assert spec is not None
        root = settings.root
        joined = os.pathsep.join(settings.roots)
        argv = _command_argv(spec, tool.argv[0], [_argument(path, root) for path in paths], joined)
        env = {name: value.replace(ROOTS_PLACEHOLDER, joined) for name, value in settings.env}
        completed = await _process.run(argv, timeout=timeout, cwd=root, env=env or None)
        shown = os.path.basename(spec.executable)
        if completed.returncode not in spec.ok_exit_codes:
            raise _process.ToolError(_process.describe_failure(shown, completed))
        text = (completed.stdout if spec.stream == "stdout" else completed.stderr).decode("utf-8", "replace")
        try:
            found = split(spec, text, root, paths)
        except OutputError as exc:
            raise _process.ToolError(f"{shown}: {exc}") from None
        if completed.returncode != 0 and not found:
            raise _process.ToolError(
                f"{shown} exited with status {completed.returncode} but its output held no finding "
                f"(does the declared format match what it prints?): "
                + (text.strip()[-300:] or completed.stderr.decode("utf-8", "replace").strip()[-300:] or "no output")
            )
        return {path: Outcome(tuple(sorted(rows))) for path, rows in found.items()}

    @cached_validation()
    async def validate(self) -> ValidationResult:
        started = time.perf_counter()
        before = getattr(self, "_planned", None) or self._fresh_context()
        result = await self.check()
        if result.error is None and self._fresh_context() != before:
            return ValidationResult(
                self.dimension,
                False,
                file_path=result.file_path,
                error=f"{self.dimension}: a file this result depends on changed while it ran; run again",
                duration_s=time.perf_counter() - started,
            )
        return result


__all__ = ["Checker", "CheckerSettings", "CheckerSpec", "DeclarationError"]

_graphs: dict[int, tuple[weakref.ref[CacheBinding], ImportGraph]] = {}
"""One import graph per run (binding, by identity: it is not hashable): resolutions are remembered
for a run, not longer."""


def _command_argv(spec: CheckerSpec, program: str, names: list[str], roots: str) -> list[str]:
    """The declared command with ``program`` first, the files where ``{files}`` stands (else at the end)
    and the import roots where ``{import_roots}`` stands."""
    argv = [program]
    for item in spec.command[1:]:
        if item == FILES_PLACEHOLDER:
            argv.extend(names)
        else:
            argv.append(item.replace(ROOTS_PLACEHOLDER, roots))
    if FILES_PLACEHOLDER not in spec.command:
        argv.extend(names)
    return argv


def _argument(path: str, root: str) -> str:
    """The file as a command run at the root names it: relative when it is under the root."""
    relative = os.path.relpath(path, root)
    return path if relative.startswith(os.pardir) else relative


def _project_roots(cls: type[Checker], root: str) -> tuple[str, ...]:
    """Import roots of the Python files ``cls`` covers under ``root`` (git's view of the tree, else a walk)."""
    listed = _listed(root)
    files = [path for path in listed if path.endswith(".py") and cls.applies_to(Path(path))]
    return tuple(import_roots(files))


def _listed(root: str) -> list[str]:
    try:
        completed = subprocess.run(  # nosec B603 B607 - fixed argv, no shell
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        completed = None
    if completed is not None and completed.returncode == 0:
        names = [os.fsdecode(name) for name in completed.stdout.split(b"\0") if name]
        return sorted(os.path.join(root, name) for name in names if os.path.isfile(os.path.join(root, name)))
    found: list[str] = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [
            name
            for name in subdirectories
            if not name.startswith(".")
            and name not in _SKIPPED
            and not os.path.isfile(os.path.join(directory, name, "pyvenv.cfg"))
        ]
        found.extend(os.path.join(directory, name) for name in files)
    return sorted(found)


_SKIPPED = frozenset({"__pycache__", "node_modules", "build", "dist", "venv", "site-packages"})
