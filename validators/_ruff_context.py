"""What a ruff result depends on besides the file's own bytes: the ``cache_context`` of lint and format.

ruff decides per file, from the file system around it:

- **Its configuration.** The closest ``.ruff.toml``, ``ruff.toml`` or ``pyproject.toml``
  with a ``[tool.ruff]`` table among the file's ancestors, and every file its ``extend``
  chain names. A config without ``target-version`` takes ``requires-python`` from the
  closest ``pyproject.toml`` at or above it; with no config at all, from the closest
  ``pyproject.toml``, and the user's own ruff config applies. So every candidate config
  file on the way up is observed, up to the closest config and the closest
  ``pyproject.toml`` at or above it (the filesystem root when there is none), plus the
  ``extend`` chain, plus the user config when no project config was found.
- **Its package** (lint only). ``INP001`` asks whether the file's directory has an
  ``__init__.py``; the package root (the top of the ``__init__.py`` chain) decides the
  module path used by ``A005``, ``N999``, relative-import rules and isort's "same
  package". So ``__init__.py``/``__init__.pyi`` is observed in every directory from the
  file's up to the first one without.
- **Which imports are first-party** (lint only). isort (``I001``), flake8-type-checking
  (``TC001``-``TC003``) and ``F401`` in ``__init__.py`` classify an import as first-party
  when ``SRC/a/b`` is a directory or ``SRC/a/b.py``/``.pyi`` exists in one of the ``src``
  roots (default: the config's directory and its ``src/``). Rather than a digest of every
  src root's whole tree (any new file anywhere would invalidate every entry), the file's
  own import statements are scanned (its bytes are in the key already) and, for every
  imported module and each of its prefixes, what exists under each src root is observed.
  Adding ``zzz_probe.py`` then invalidates exactly the files that import ``zzz_probe``.

Each observation ("fact") is memoised by the stat signature (size, mtime, ctime, inode,
device) of the file or directory it was read from, and trusted only when that changed
more than ``RACY_WINDOW_NS`` before it was read, as ``memo.hashing.HashMemo`` does; a
same-size edit with its mtime restored still moves the ctime. ``Snapshot.still_holds``
recomputes every fact after ruff ran, so a config edited during the run is noticed.

Not observed (documented limits): ``.gitignore`` (ruff does not apply it to paths it is
given; it decides which files ruff checks, which ``memo.validators._ruff_files``
observes), environment variables (none changes a finding), the contents of a symlink
target's directory, and imports written where a line scan cannot see them (after a
semicolon behind another statement, or split by a backslash inside the module name).
"""

from __future__ import annotations

import functools
import glob
import json
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from memo import hash_bytes
from memo import witness as run_witness
from memo._toml import tomllib
from memo.hashing import RACY_WINDOW_NS, StatSignature, stat_signature
from memo.recent import Recent

CONFIG_NAMES = (".ruff.toml", "ruff.toml", "pyproject.toml")
"""ruff's config file names, in its order of precedence within one directory."""
_PACKAGE_MARKERS = ("__init__.py", "__init__.pyi")
_MAX_ENTRIES = 100_000
_MAX_IMPORTS = 4096
"""Files whose imports are remembered (``memo.recent.Recent``: this many to twice as many).
One per file, not per directory: a run reads each file's imports once (and again right
after ruff ran on it), so a window of recent files serves it, and a run over a large tree
does not hold every file's imports to its end."""
_ABSENT = "-"


def _entry_kind(entry: os.DirEntry[str]) -> str:
    try:
        if entry.is_dir():
            return "d"
        return "f" if entry.is_file() else "o"
    except OSError:
        return "o"


def _path_kind(path: str) -> str:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return _ABSENT
    except OSError:
        return "o" if os.path.lexists(path) else _ABSENT
    if stat.S_ISDIR(mode):
        return "d"
    return "f" if stat.S_ISREG(mode) else "o"


def _now() -> int:
    return time.time_ns()


Witnesses = tuple[tuple[str, StatSignature | str], ...]
"""What remembered lines were read from: a listing's or file's signature, or a path's kind."""


def _unchanged(path: str, signature: StatSignature | str) -> bool:
    """Whether ``path`` still has ``signature``, or is still of that kind (``_path_kind``)."""
    if isinstance(signature, str):
        return _path_kind(path) == signature
    try:
        return stat_signature(os.stat(path)) == signature
    except OSError:
        return False


def _trusted(info: os.stat_result, clock: Callable[[], int]) -> bool:
    return clock() - max(info.st_mtime_ns, info.st_ctime_ns) > RACY_WINDOW_NS


@dataclass(frozen=True, slots=True)
class _FileView:
    """A file's digest and parsed TOML table (None when it is not TOML), under one signature."""

    signature: StatSignature
    digest: str
    table: dict[str, object] | None


@dataclass(frozen=True, slots=True)
class _DirView:
    """A directory's entries by name, each ``"d"``, ``"f"`` or ``"o"`` as ``Observer.kind`` says."""

    signature: StatSignature
    entries: dict[str, str]


class Observer:
    """Reads files and directory listings, remembering each under its stat signature.

    Shared by every lookup in the process. An entry is reused only while the stat
    signature is unchanged and was already older than the racy window when it was read.
    """

    def __init__(self, clock: Callable[[], int] = _now) -> None:
        self._files: dict[str, _FileView] = {}
        self._dirs: dict[str, _DirView] = {}
        self._imports: Recent[str, tuple[StatSignature, tuple[str, ...]]] = Recent(_MAX_IMPORTS)
        self._lines: dict[
            tuple[str, str, bool, bool],
            tuple[
                tuple[str, ...],
                tuple[str, ...],
                tuple[tuple[str, StatSignature | str], ...],
                tuple[tuple[str, str | None, str | None], ...],
            ],
        ] = {}
        self._clock = clock

    def clear(self) -> None:
        self._files.clear()
        self._dirs.clear()
        self._imports.clear()
        self._lines.clear()

    def listing(self, path: str) -> dict[str, str] | None:
        """The directory's entries, or None when it is not a readable directory.

        A directory changed within the racy window is listed afresh on every call.
        """
        try:
            info = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISDIR(info.st_mode):
            return None
        signature = stat_signature(info)
        known = self._dirs.get(path)
        if known is not None and known.signature == signature:
            return known.entries
        entries: dict[str, str] = {}
        try:
            with os.scandir(path) as scan:
                for entry in scan:
                    entries[entry.name] = _entry_kind(entry)
            after = os.stat(path)
        except OSError:
            return None
        if stat_signature(after) == signature and _trusted(after, self._clock):
            self._remember(self._dirs, path, _DirView(signature, entries))
        else:
            self._dirs.pop(path, None)
        return entries

    def entries(self, directory: str) -> dict[str, str] | None:
        """The directory's remembered or fresh listing; None when it is in flux or unreadable.

        A directory changed within the racy window (a busy ``/tmp``, say) is not listed
        at all: the caller stats the few names it needs instead.
        """
        try:
            info = os.stat(directory)
        except OSError:
            return None
        known = self._dirs.get(directory)
        if known is not None and stat_signature(info) == known.signature:
            return known.entries
        if not _trusted(info, self._clock):
            return None
        return self.listing(directory)

    def kind(self, directory: str, name: str) -> str:
        """``"d"`` (directory), ``"f"`` (regular file), ``"o"`` (other) or ``"-"`` (absent)."""
        entries = self.entries(directory)
        if entries is None:
            return _path_kind(os.path.join(directory, name))
        return entries.get(name, _ABSENT)

    def file(self, path: str) -> _FileView | None:
        """The file's digest and TOML table, or None when it cannot be read as a regular file."""
        try:
            info = os.stat(path)
        except OSError:
            return None
        signature = stat_signature(info)
        known = self._files.get(path)
        if known is not None and known.signature == signature:
            return known
        try:
            with open(path, "rb") as handle:
                before = os.fstat(handle.fileno())
                if not stat.S_ISREG(before.st_mode):
                    return None
                data = handle.read()
                after = os.fstat(handle.fileno())
        except OSError:
            return None
        try:
            table: dict[str, object] | None = tomllib.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            table = None  # ruff rejects it too, and reports so; the digest still names it
        view = _FileView(stat_signature(after), _settings_digest(path, data, table), table)
        if stat_signature(before) == view.signature == signature and _trusted(after, self._clock):
            self._remember(self._files, path, view)
        else:
            self._files.pop(path, None)
        return view

    def imports(self, path: str) -> tuple[str, ...]:
        """The modules the file imports (``imported_modules``); () when it cannot be read."""
        try:
            info = os.stat(path)
        except OSError:
            return ()
        signature = stat_signature(info)
        known = self._imports.get(path)
        if known is not None and known[0] == signature:
            return known[1]
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return ()
        modules = imported_modules(data)
        if _trusted(info, self._clock):
            self._imports[path] = (signature, modules)
        return modules

    def listing_signature(self, directory: str, entries: dict[str, str] | None) -> StatSignature | None:
        """The signature ``entries`` (just returned by ``entries``) is remembered under; None if it is not."""
        known = self._dirs.get(directory)
        return known.signature if known is not None and entries is not None and known.entries is entries else None

    def file_signature(self, path: str, view: _FileView | None) -> StatSignature | None:
        """The signature ``view`` (just returned by ``file``) is remembered under; None if it is not."""
        return view.signature if view is not None and self._files.get(path) is view else None

    def directory_lines(
        self, root: str, directory: str, use_config: bool, imports: bool
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """What a file in ``directory`` owes to its surroundings (``_directory_lines``), and its src roots.

        Remembered with every listing and file it was read from; reused while a ``stat``
        of each shows the same signature, so a file of a directory already seen costs a
        few ``stat`` calls rather than the walk to the filesystem root.
        """
        key = (root, directory, use_config, imports)
        known = self._lines.get(key)
        if known is not None and all(_unchanged(path, signature) for path, signature in known[2]):
            run_witness.saw(known[3])
            return known[0], known[1]
        lines, roots, witnesses, seen = _directory_lines(self, root, directory, use_config, imports)
        if witnesses is None:
            self._lines.pop(key, None)
        else:
            if len(self._lines) >= _MAX_ENTRIES:
                self._lines.clear()
            self._lines[key] = (lines, roots, tuple(witnesses), seen)
        return lines, roots

    @staticmethod
    def _remember(memo: dict[str, Any], path: str, view: object) -> None:
        if len(memo) >= _MAX_ENTRIES:
            memo.clear()
        memo[path] = view


OBSERVER = Observer()


# -- import scanning ---------------------------------------------------------------------------

_IMPORT = re.compile(
    rb"^[ \t]*(?:import[ \t]+([^\n#;]+)|from[ \t]+([\w.]+)[ \t]+import[ \t]*(\([^)]*\)|[^\n#;]*))",
    re.MULTILINE,
)
_NAME = re.compile(r"[A-Za-z_][\w.]*")


def imported_modules(source: bytes) -> tuple[str, ...]:
    """Absolute module names the source imports, with every ``from m import n`` also as ``m.n``.

    A line scan, not a parse: a superset is harmless (one more fact in the key), and the
    scan costs far less than ``ast.parse`` on every cache lookup. Only the lines holding
    the word ``import`` are tried (found by a plain substring search, not by trying the
    pattern at every position of the file).
    """
    found: set[str] = set()
    text = source.replace(b"\\\n", b" ")
    tried = -1
    at = text.find(b"import")
    while at != -1:
        start = text.rfind(b"\n", 0, at) + 1
        if start > tried:
            tried = start
            match = _IMPORT.match(text, start)
            if match is not None:
                _add_imports(found, *match.groups())
                tried = max(tried, text.rfind(b"\n", 0, match.end()) + 1)
        at = text.find(b"import", at + 6)
    return tuple(sorted(found))


def _add_imports(found: set[str], plain: bytes | None, module: bytes | None, names: bytes | None) -> None:
    """Add what one import statement (``import a, b`` or ``from m import x, y``) names."""
    if plain is not None:
        for part in plain.decode("utf-8", "replace").split(","):
            words = part.split()
            if words and _NAME.fullmatch(words[0]):
                found.add(words[0])
        return
    assert module is not None and names is not None
    base = module.decode("utf-8", "replace")
    if base.startswith("."):
        return
    found.add(base)
    text = names.decode("utf-8", "replace").strip("()")
    for part in re.sub(r"#[^\n]*", "", text).split(","):
        words = part.split()
        if words and _NAME.fullmatch(words[0]) and words[0] != "*":
            found.add(f"{base}.{words[0]}")


# -- the context ---------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The facts one file's ruff result was keyed under, and how to check them again."""

    digest: str
    recompute: Callable[[], str] = field(repr=False)

    def still_holds(self) -> bool:
        """Whether every fact is as it was when the key was made."""
        try:
            return self.recompute() == self.digest
        except Exception:  # an unreadable tree is a change; never a traceback
            return False


def _settings_digest(path: str, data: bytes, table: dict[str, object] | None) -> str:
    """The digest of what ruff reads in a config file.

    A ``pyproject.toml`` holds much that ruff never reads (other tools' tables, memo's
    own); only ``[tool.ruff]`` and ``project.requires-python`` (ruff's default target
    version) count, so editing ``[tool.memo]`` keeps every lint and format entry. Any
    other config file, or a pyproject that is not valid TOML, counts byte for byte.
    """
    if table is None or os.path.basename(path) != "pyproject.toml":
        return hash_bytes(data)
    tool = table.get("tool")
    project = table.get("project")
    read = {
        "tool.ruff": tool.get("ruff") if isinstance(tool, dict) else None,
        "requires-python": project.get("requires-python") if isinstance(project, dict) else None,
    }
    return hash_bytes(json.dumps(read, sort_keys=True, default=str).encode("utf-8"))


def _ruff_table(path: str, view: _FileView | None) -> dict[str, object] | None:
    """The ruff settings table of a config file: ``[tool.ruff]`` or a ruff.toml's top level."""
    if view is None or view.table is None:
        return None
    if os.path.basename(path) == "pyproject.toml":
        tool = view.table.get("tool")
        ruff = tool.get("ruff") if isinstance(tool, dict) else None
        return ruff if isinstance(ruff, dict) else None
    return view.table


def _is_settings(path: str, view: _FileView | None) -> bool:
    """Whether ruff treats this file as a config (an unparsable one is, and ruff reports it)."""
    if os.path.basename(path) != "pyproject.toml":
        return True
    return view is None or view.table is None or _ruff_table(path, view) is not None


def _user_config_dirs() -> list[str]:
    dirs = []
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        dirs.append(os.path.join(xdg, "ruff"))
    home = os.path.expanduser("~")
    dirs.append(os.path.join(home, ".config", "ruff"))
    if sys.platform == "darwin":  # pragma: no cover
        dirs.append(os.path.join(home, "Library", "Application Support", "ruff"))
    return dirs


class _Facts:
    """Collects ``(what, value)`` lines; paths are shown relative to the project root."""

    def __init__(self, root: str, observer: Observer, scope: dict[Hashable, Any] | None = None) -> None:
        self.root = root
        self.observer = observer
        self.lines: list[str] = []
        self._entries: dict[str, dict[str, str] | None] = (
            {} if scope is None else scope.setdefault("memo.ruff-listings", {})
        )
        self._kinds: dict[str, str] = {} if scope is None else scope.setdefault("memo.ruff-kinds", {})
        self.witnesses: list[tuple[str, StatSignature | str]] | None = []
        """The listings and files the lines were read from, each under its stat signature;
        None once something was read that no signature vouches for (then nothing is kept)."""
        self.seen: list[tuple[str, str | None, str | None]] = []
        """Every ``(directory, name, kind)`` looked at and ``(file, None, None)`` read, for a run's
        manifest (``memo.witness.saw``): which names' kinds and which files' bytes the lines stand on."""

    def _saw(self, path: str, entry: str | None, kind: str | None = None) -> None:
        self.seen.append((path, entry, kind))

    def _witness(self, path: str, signature: StatSignature | str | None) -> None:
        if self.witnesses is not None:
            if signature is None:
                self.witnesses = None
            else:
                self.witnesses.append((path, signature))

    def kind(self, directory: str, name: str) -> str:
        """``Observer.kind``, with each directory looked at once per computation."""
        if directory in self._entries:
            entries = self._entries[directory]
        else:
            entries = self._entries[directory] = self.observer.entries(directory)
            if entries is not None:
                self._witness(directory, self.observer.listing_signature(directory, entries))
        if entries is None:
            # A directory in flux (or none): the name's own kind vouches for the line.
            path = os.path.join(directory, name)
            kind = _path_kind(path)
            self._witness(path, kind)
            self._saw(directory, name, kind)
            return kind
        found = entries.get(name, _ABSENT)
        self._saw(directory, name, found)
        return found

    def path_kind(self, path: str) -> str:
        """``_path_kind``, once per computation (or planning pass)."""
        kind = self._kinds.get(path)
        if kind is None:
            kind = self._kinds[path] = _path_kind(path)
        self._saw(os.path.dirname(path), os.path.basename(path), kind)
        return kind

    def show(self, path: str) -> str:
        return _shown(path, self.root)

    def add(self, what: str, path: str, value: str) -> None:
        self.lines.append(f"{what} {self.show(path)} {value}")

    def file(self, path: str) -> _FileView | None:
        """``Observer.file``, witnessed."""
        self._saw(path, None)
        view = self.observer.file(path)
        self._witness(path, self.observer.file_signature(path, view))
        return view

    def config_file(self, path: str) -> _FileView | None:
        view = self.file(path)
        self.add("config", path, "unreadable" if view is None else view.digest)
        return view

    def digest(self) -> str:
        return hash_bytes("\n".join(self.lines).encode("utf-8", "surrogateescape"))


@functools.lru_cache(maxsize=4096)
def _shown(path: str, root: str) -> str:
    """``path`` relative to ``root``, with ``/``: a fact's line names a few directories, over and over."""
    return os.path.relpath(path, root).replace(os.sep, "/")


def _ancestors(directory: str) -> Iterable[str]:
    current = directory
    while True:
        yield current
        parent = os.path.dirname(current)
        if parent == current:
            return
        current = parent


def _config_facts(facts: _Facts, directory: str) -> tuple[str | None, dict[str, object] | None]:
    """Observe the config files ruff would read for a file in ``directory``.

    Returns the closest config's path and its ruff table (None, None without one).
    """
    settings: tuple[str, dict[str, object] | None] | None = None
    pyproject_above = False
    for current in _ancestors(directory):
        for name in CONFIG_NAMES:
            if facts.kind(current, name) != "f":
                continue
            path = os.path.join(current, name)
            view = facts.config_file(path)
            if name == "pyproject.toml" and settings is not None:
                pyproject_above = True
            if settings is None and _is_settings(path, view):
                settings = (path, _ruff_table(path, view))
                pyproject_above = name == "pyproject.toml"
        if settings is not None and pyproject_above:
            break
    if settings is None:
        for config_dir in _user_config_dirs():
            for name in CONFIG_NAMES:
                if facts.kind(config_dir, name) == "f":
                    facts.config_file(os.path.join(config_dir, name))
        return None, None
    path, table = settings
    _extend_facts(facts, path, table, seen={os.path.abspath(path)})
    return path, table


def _extend_facts(facts: _Facts, path: str, table: dict[str, object] | None, seen: set[str]) -> None:
    """Observe every file the ``extend`` chain names, relative to the file naming it."""
    while table is not None:
        extend = table.get("extend")
        if not isinstance(extend, str):
            return
        target = os.path.expandvars(os.path.expanduser(extend))
        target = os.path.abspath(os.path.join(os.path.dirname(path), target))
        if target in seen:
            return  # ruff reports the cycle; the chain observed so far names it
        seen.add(target)
        view = facts.config_file(target)
        path, table = target, _ruff_table(target, view)


def _src_patterns(
    facts: _Facts, config: str | None, table: dict[str, object] | None, root: str
) -> list[tuple[str, str]]:
    """``(base directory, pattern)`` for each ``src`` entry ruff would use, defaults included.

    ``src`` comes from the closest config, else from its ``extend`` chain, and resolves
    against the directory of the file that sets it. Unset: the config's directory (the
    project root without a config) and its ``src/``.
    """
    path = config
    seen: set[str] = set()
    while path is not None and table is not None and path not in seen:
        seen.add(path)
        value = table.get("src")
        if isinstance(value, list):
            base = os.path.dirname(path)
            return [(base, str(item)) for item in value]
        extend = table.get("extend")
        if not isinstance(extend, str):
            break
        path = os.path.abspath(os.path.join(os.path.dirname(path), os.path.expandvars(os.path.expanduser(extend))))
        table = _ruff_table(path, facts.file(path))
    base = os.path.dirname(config) if config is not None else root
    return [(base, "."), (base, "src")]


def _src_roots(facts: _Facts, patterns: Sequence[tuple[str, str]]) -> list[str]:
    roots = []
    for base, pattern in patterns:
        joined = os.path.normpath(os.path.join(base, os.path.expanduser(pattern)))
        if glob.has_magic(pattern):
            expanded = sorted(glob.glob(joined))
            facts.add("src-glob", joined, ",".join(facts.show(path) for path in expanded))
            roots.extend(expanded)
        else:
            roots.append(joined)
    return roots


def _package_facts(facts: _Facts, directory: str) -> None:
    """Observe the ``__init__`` chain from ``directory`` up to the first directory without one."""
    for current in _ancestors(directory):
        kinds = [facts.kind(current, name) for name in _PACKAGE_MARKERS]
        facts.add("package", current, f"{os.path.basename(current)}:{''.join(kinds)}")
        if "f" not in kinds:
            return


def _module_facts(facts: _Facts, roots: Sequence[str], modules: Sequence[str]) -> None:
    """For each src root and each imported module prefix ``a.b``: what ``a/b``, ``a/b.py(i)`` are."""
    for index, src in enumerate(roots):
        if facts.path_kind(src) != "d":
            facts.add(f"src{index}", src, _ABSENT)
            continue
        values = []
        for module in modules:
            parts = module.split(".")
            directory = src
            for depth, part in enumerate(parts):
                kinds = "".join(facts.kind(directory, name) for name in (part, f"{part}.py", f"{part}.pyi"))
                if kinds != _ABSENT * 3:
                    values.append(f"{'.'.join(parts[: depth + 1])}={kinds}")
                if kinds[0] != "d":
                    break
                directory = os.path.join(directory, part)
        facts.add(f"src{index}", src, ";".join(values))


def context_lines(
    root: str,
    file_path: str,
    *,
    use_config: bool,
    modules: Sequence[str] | None,
    observer: Observer = OBSERVER,
    scope: dict[Hashable, Any] | None = None,
) -> list[str]:
    """The facts a ruff result for ``file_path`` depends on, one line each.

    ``modules`` is None for ``format`` (no import classification, no package); for
    ``lint`` it is what the file imports (see ``imported_modules``). What the file's
    directory contributes (its configs, its package, its src roots) is shared by every
    file in it, and remembered by the observer (``Observer.directory_lines``).
    """
    directory = os.path.dirname(os.path.abspath(file_path))
    key = ("memo.ruff-directory", root, directory, use_config, modules is not None)
    shared = None if scope is None else scope.get(key)
    if shared is None:
        shared = observer.directory_lines(root, directory, use_config, modules is not None)
        if scope is not None:
            scope[key] = shared
    lines, roots = shared
    facts = _Facts(root, observer, scope)
    facts.lines = list(lines)
    if modules is not None:
        _module_facts(facts, roots, modules)
        run_witness.saw(facts.seen)
    return facts.lines


def _directory_lines(
    observer: Observer, root: str, directory: str, use_config: bool, imports: bool
) -> tuple[
    tuple[str, ...],
    tuple[str, ...],
    list[tuple[str, StatSignature | str]] | None,
    tuple[tuple[str, str | None, str | None], ...],
]:
    """The lines every file in ``directory`` shares, the src roots its imports resolve
    against, what they were read from (None: nothing vouches for them), and the names
    and files looked at (``_Facts.seen``)."""
    facts = _Facts(root, observer)
    config: str | None = None
    table: dict[str, object] | None = None
    if use_config:
        config, table = _config_facts(facts, directory)
    else:
        facts.lines.append("isolated")
    roots: list[str] = []
    if imports:
        _package_facts(facts, directory)
        patterns = _src_patterns(facts, config, table, root)
        if any(glob.has_magic(pattern) for _, pattern in patterns):
            facts.witnesses = None  # a glob's matches are not vouched for by one listing
            run_witness.unvouched("a ruff `src` glob: its matches are not vouched for by one listing")
        roots = _src_roots(facts, patterns)
    run_witness.saw(facts.seen)
    return tuple(facts.lines), tuple(roots), facts.witnesses, tuple(facts.seen)


def snapshot(
    root: str,
    file_path: str,
    *,
    use_config: bool,
    modules: Sequence[str] | None,
    observer: Observer = OBSERVER,
    scope: dict[Hashable, Any] | None = None,
) -> Snapshot:
    """The context digest for ``file_path`` now, able to recompute itself later."""

    def compute(shared: dict[Hashable, Any] | None = None) -> str:
        lines = context_lines(root, file_path, use_config=use_config, modules=modules, observer=observer, scope=shared)
        return hash_bytes("\n".join(lines).encode("utf-8", "surrogateescape"))

    # The check after ruff ran looks afresh, never through the planning pass's memo.
    return Snapshot(compute(scope), compute)
