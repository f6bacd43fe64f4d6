"""Find the external tools validators run, and their versions.

A tool's version is part of every cache key of the validators that run it, so an
upgrade invalidates their entries. Most tools are looked up once per process; ruff,
whose version is asked on every cache lookup of lint and format, is looked up again
whenever its binary's stat signature (with ctime, outside the racy window) changes, so
an upgrade in the middle of a long-lived process is noticed. Tools installed as Python packages in this
interpreter are preferred (bandit's and mypy's console-script entry points, ruff's own
binary) over whatever is on PATH: a PATH entry may be a slow shim, or belong to another
environment.

A Python tool is started as its console script starts it, never as ``python -m TOOL``:
``-m`` puts the working directory (the project root) first on ``sys.path``, so a
``yaml.py``, ``tokenize.py``, ``email/`` or ``bandit/`` in the checkout would be imported
and run, and a tree that copies the standard library would crash the tool. The bare
``bandit`` script never imports from the working directory. ``python -P``/
``PYTHONSAFEPATH`` would do it too, but only from Python 3.11; ``python -I`` also drops
``PYTHONPATH`` and the user site, which the bare tool honours. So memo's interpreter runs
``LAUNCHER`` (``python -c``), which takes the ``''`` that ``-c`` puts first on ``sys.path``
off it before anything is imported, then calls the entry point as the script would.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import subprocess  # nosec B404
import sys
import time
from dataclasses import dataclass

from memo.hashing import RACY_WINDOW_NS, StatSignature, stat_signature

_MODULE_TOOLS = frozenset({"bandit", "mypy"})
"""Tools run through this interpreter, by their console-script entry point."""
_LIBRARY_TOOLS = frozenset({"radon"})


@dataclass(frozen=True)
class Tool:
    """An installed tool: the command that starts it (empty for a library) and its version."""

    name: str
    argv: tuple[str, ...]
    version: str

    @property
    def identity(self) -> str:
        return f"{self.name} {self.version}"


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


LAUNCHER = (
    "import sys\n"
    "if not getattr(sys.flags, 'safe_path', False) and sys.path[:1] == ['']:\n"
    "    del sys.path[0]\n"
    "name, target = sys.argv.pop(1), sys.argv.pop(1)\n"
    "sys.argv[0] = name\n"
    "module, _, attribute = target.partition(':')\n"
    "import importlib\n"
    "function = importlib.import_module(module)\n"
    "for part in attribute.split('.'):\n"
    "    function = getattr(function, part)\n"
    "sys.exit(function())\n"
)
"""``python -c LAUNCHER NAME MODULE:FUNCTION ARGS...``: a console script's entry point, run as its script runs it.

``python -c`` puts ``''`` (the working directory) first on ``sys.path``; it is removed
before the first import. (With ``PYTHONSAFEPATH`` set nothing was put there to remove.)
"""


def _entry_point(name: str) -> str | None:
    """The ``module:function`` of the console script ``name`` installed in this interpreter, or None."""
    for point in importlib.metadata.entry_points(group="console_scripts", name=name):
        return str(point.value)
    return None


def script_command(name: str, entry_point: str) -> tuple[str, ...]:
    """The argv that runs console script ``name`` (``module:function``) with this interpreter, cwd off ``sys.path``."""
    return (sys.executable, "-c", LAUNCHER, name, entry_point)


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _version_from_cli(path: str) -> str:
    try:
        # Only a tool found on PATH, asked for its --version: a fixed argv, no shell.
        completed = subprocess.run(  # nosec B603
            [path, "--version"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    words = completed.stdout.decode("utf-8", "replace").split()
    return words[1] if len(words) > 1 else "unknown"


def _ruff() -> Tool | None:
    version = _package_version("ruff")
    if version is not None:
        try:
            from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]

            return Tool("ruff", (find_ruff_bin(),), version)
        except (ImportError, FileNotFoundError):
            pass
    path = shutil.which("ruff")
    return None if path is None else Tool("ruff", (path,), _version_from_cli(path))


_ruff_seen: tuple[StatSignature, Tool] | None = None
_clock = time.time_ns


def _binary_signature(tool: Tool) -> tuple[StatSignature, bool] | None:
    """The binary's stat signature, and whether it changed longer ago than the racy window."""
    try:
        info = os.stat(tool.argv[0])
    except (OSError, IndexError):
        return None
    return stat_signature(info), _clock() - max(info.st_mtime_ns, info.st_ctime_ns) > RACY_WINDOW_NS


def _current_ruff() -> Tool | None:
    """ruff as installed now: the remembered lookup while its binary is unchanged, else afresh."""
    global _ruff_seen
    seen = _ruff_seen
    if seen is not None:
        now = _binary_signature(seen[1])
        if now is not None and now[0] == seen[0]:
            return seen[1]
    tool = _ruff()
    signature = None if tool is None else _binary_signature(tool)
    _ruff_seen = None if tool is None or signature is None or not signature[1] else (signature[0], tool)
    return tool


def find_tool(name: str) -> Tool | None:
    """The installed tool called ``name``, or None if it is not installed."""
    if name == "ruff":
        return _current_ruff()
    return _find_once(name)


@functools.cache
def _find_once(name: str) -> Tool | None:
    if name == "ruff":
        return _ruff()
    if name == "python":
        return Tool("python", (sys.executable,), platform.python_version())
    if name in _LIBRARY_TOOLS:
        version = _package_version(name)
        return Tool(name, (), version) if version is not None and _has_module(name) else None
    if name in _MODULE_TOOLS and _has_module(name):
        entry_point = _entry_point(name)
        if entry_point is not None:
            return Tool(name, script_command(name, entry_point), _package_version(name) or "unknown")
    path = shutil.which(name)
    return None if path is None else Tool(name, (path,), _version_from_cli(path))


find_tool.__wrapped__ = _find_once.__wrapped__  # type: ignore[attr-defined]
"""The lookup without any memo, for callers (and tests) that want a fresh answer."""
