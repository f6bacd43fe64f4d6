"""What a run's manifest records (``memo.manifest``): its files, its results, and every witness.

The witnesses beyond what the validators report themselves (``memo.witness``):

- **Where the root is.** The root markers (``pyproject.toml``, ``.git``, ...) in every
  directory ``find_root`` looked at: one created below the old root moves the root.
- **The config.** ``pyproject.toml`` at the root and the ``--config`` file.
- **Which files are checked.** The listing of every directory discovery walks (a file
  added, removed or renamed, tracked or untracked, changes it), every ``.gitignore``
  in them and above them up to the repository's top, which paths git tracks (through its index),
  ``info/exclude`` and config, the user's git config and global ignore file, and
  whether a ``.git`` exists at the root or above (a ``git init`` changes discovery).
  Directories discovery prunes (``SKIPPED_DIRS``, virtual environments) are not walked;
  a directory git ignores is walked anyway, so a change there costs a full run, never
  a stale answer.
- **The validators' code and tools.** The source file of every class in each validator's
  MRO (what ``memo.decorator.code_digest`` hashes), each tool's executable, and the
  listing of every directory on ``sys.path`` (a package installed, upgraded or removed
  there, a plugin added).
"""

from __future__ import annotations

import os
import subprocess  # nosec B404 - runs only git rev-parse, with a fixed argv and no shell
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from memo import ValidationResult
from memo.engine import discovery
from memo.engine.project import ROOT_MARKERS, search_start, searched
from memo.engine.resultlog import ResultLog
from memo.filetable import FileEntry, FileTable
from memo.hashing import hash_file, stat_signature
from memo.manifest import Lane, Manifest, Verification
from memo.validators import Validator
from memo.walk import directories
from memo.witness import CHANGED, Observed, Witness, observe, settled, witness_id

PlannedLane = tuple[str, bool, Sequence[Path | None]]
"""``(dimension, per_file, paths)`` of one lane, in check order."""


def run_witnesses(
    observed: Observed,
    root: Path,
    paths: Sequence[str] | None,
    cwd: str,
    config_file: str | None,
    validators: Iterable[type[Validator]],
    cache_dir: str | None = None,
) -> Observed:
    """Add to ``observed`` what the run's root, config, files, code and tools stand on.

    ``cache_dir``, when it lies in the tree, is not walked: the run itself writes there,
    and nothing in it is ever checked.
    """
    top = os.path.abspath(root)
    absolute = [os.path.normpath(os.path.join(cwd, path)) for path in paths or ["."]]
    for directory in searched(search_start(absolute), top):
        for marker in ROOT_MARKERS:
            observed.add_name(directory, marker)
    observed.add_file(os.path.join(top, "pyproject.toml"))
    if config_file is not None:
        observed.add_file(os.path.abspath(config_file))
    _discovery(observed, top, paths, None if cache_dir is None else os.path.abspath(cache_dir))
    for cls in validators:
        for klass in cls.__mro__:
            module = sys.modules.get(klass.__module__)
            source = getattr(module, "__file__", None)
            if source is not None and klass.__module__ != "builtins":
                observed.add_file(os.path.abspath(source))
        _tool(observed, cls)
    for entry in sys.path:
        if entry and os.path.isdir(entry) and os.path.abspath(entry) != os.path.abspath(cwd):
            observed.add_listing(os.path.abspath(entry))
    return observed


def _tool(observed: Observed, cls: type[Validator]) -> None:
    name = getattr(cls, "tool", None)
    if not isinstance(name, str) or not name:
        return
    from memo.validators import _tools

    try:
        found = _tools.find_tool(name)
    except Exception:  # the lookup's own failure shows in the results
        return
    if found is not None and found.argv and os.path.isabs(found.argv[0]):
        observed.add_file(found.argv[0])


def _discovery(observed: Observed, top: str, paths: Sequence[str] | None, cache_dir: str | None) -> None:
    targets = [os.path.abspath(os.path.join(top, path)) for path in (paths or [top])]
    for target in targets:
        if os.path.isdir(target):
            _walk(observed, target, cache_dir)
    for directory in _ancestors(top):
        observed.add_name(directory, ".git")
    git = _git_dirs(top)
    if git is None:
        return
    git_dir, common_dir, toplevel = git
    observed.add_tracked(os.path.join(git_dir, "index"), top)
    for path in (
        os.path.join(common_dir, "info", "exclude"),
        os.path.join(common_dir, "config"),
        *_global_git_files(),
    ):
        observed.add_file(path)
    for directory in _ancestors(top):
        observed.add_file(os.path.join(directory, ".gitignore"))
        if directory == toplevel:
            break


def _walk(observed: Observed, top: str, cache_dir: str | None) -> None:
    """Every directory discovery would walk under ``top`` (but the cache), its listing, and its ``.gitignore``."""

    def descend(entry: os.DirEntry[str]) -> bool:
        return entry.name != ".gitignore" and not discovery.pruned(entry.name, entry.path) and entry.path != cache_dir

    for directory, entries in directories(top, descend):
        observed.add_listing(directory)
        for entry in entries:
            try:
                if entry.name == ".gitignore":
                    observed.add_file(entry.path)
                elif entry.is_dir(follow_symlinks=False) and os.path.isfile(os.path.join(entry.path, "pyvenv.cfg")):
                    observed.add_name(entry.path, "pyvenv.cfg")
            except OSError:
                continue


def _ancestors(directory: str) -> Iterable[str]:
    current = directory
    while True:
        yield current
        parent = os.path.dirname(current)
        if parent == current:
            return
        current = parent


def _git_dirs(top: str) -> tuple[str, str, str] | None:
    """``(git dir, common dir, top level)`` of the repository ``top`` is in, or None outside git."""
    try:
        completed = subprocess.run(  # nosec B603 B607 - fixed argv, no shell
            ["git", "rev-parse", "--absolute-git-dir", "--git-common-dir", "--show-toplevel"],
            cwd=top,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = completed.stdout.decode(errors="surrogateescape").splitlines()
    if completed.returncode != 0 or len(lines) < 3:
        return None
    git_dir = lines[0]
    common = lines[1] if os.path.isabs(lines[1]) else os.path.normpath(os.path.join(top, lines[1]))
    return git_dir, common, os.path.abspath(lines[2])


def _global_git_files() -> list[str]:
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return [
        os.path.join(home, ".gitconfig"),
        os.path.join(xdg, "git", "config"),
        os.path.join(xdg, "git", "ignore"),
        "/etc/gitconfig",
    ]


# -- the manifest ---------------------------------------------------------------------------


def lanes_of(planned: Sequence[Any]) -> list[PlannedLane]:
    """The engine's lanes (``Engine.planned``) as ``(dimension, per_file, paths)``, one segment each."""
    found: list[PlannedLane] = []
    for lane in planned:
        for _, paths in lane.segments:
            found.append((lane.validator.dimension, lane.validator.per_file, paths))
    return found


def segments_of(lanes: Sequence[PlannedLane]) -> tuple[list[tuple[int, str, Sequence[Path | None]]], int]:
    """``ResultLog`` segments for ``lanes``, and the number of checks."""
    segments = []
    start = 0
    for dimension, _, paths in lanes:
        segments.append((start, dimension, paths))
        start += len(paths)
    return segments, start


def build(
    *,
    root: Path,
    dimension_names: Sequence[str],
    lanes: Sequence[PlannedLane],
    log: ResultLog,
    observed: Observed,
    started_ns: int,
    previous: Manifest | None = None,
    verification: Verification | None = None,
    unchanged: Mapping[str, int] | None = None,
) -> Manifest:
    """The manifest of a run that started at ``started_ns``: files, results, witnesses.

    ``unchanged``: files the run did not check again, by path, with their index in
    ``previous`` (whose entry stands, re-trusted if its signature has settled since).
    A file is recorded as settled only if what its checks read is what is there now:
    it changed before the run started (less the racy window), or its digest now is
    the one seen as the run started. Otherwise, or with an error among its results, its
    checks run again next time. A witness is vouched for the same way: settled before
    the run, or its value now is the one the run started with (``verification``, or
    taken before the checks ran) or the checks saw (``Observed.seen``).
    """
    lane_rows = _lane_rows(lanes, observed, previous)
    files, order, masks = _files_of(lanes)
    results, rerun = _results_of(lanes, log, files)
    # The engine's order (``discover`` sorts ``Path`` objects: by their parts), for ``Path`` or text alike.
    order_sorted = sorted(range(len(order)), key=lambda i: os.fspath(order[i]).split(os.sep))
    renumber = {old: new for new, old in enumerate(order_sorted)}
    earlier = {} if previous is None else {path: number for number, path in enumerate(previous.files.paths)}
    seen = {} if verification is None else verification.digests
    entries = []
    for old in order_sorted:
        name = os.fspath(order[old])
        kept = None if unchanged is None else unchanged.get(name)
        earlier_index = earlier.get(name)
        entries.append(
            _entry_for(
                name,
                masks[old],
                started_ns,
                again=old in rerun,
                kept=None if kept is None or previous is None else previous.files[kept],
                seen=None if earlier_index is None else seen.get(earlier_index),
            )
        )
    return Manifest(
        root=os.path.abspath(root),
        dimension_names=tuple(dimension_names),
        lanes=lane_rows,
        files=FileTable.of(entries, len(lane_rows)),
        results={renumber[i]: rows for i, rows in results.items()},
        witnesses=_witnesses(observed, started_ns, previous, verification),
        unvouched=observed.unvouched,
    )


def _witnesses(
    observed: Observed, started_ns: int, previous: Manifest | None, verification: Verification | None
) -> list[Witness]:
    """Every witness observed, each vouched for by the value it had as the run started (or as the checks saw it)."""
    values_before = {**({} if verification is None else verification.values), **observed.seen()}
    known = {} if previous is None else {witness_id(w.kind, w.path, w.names): w for w in previous.witnesses}
    return [
        observe(kind, path, names, started_ns, values_before.get(identity), known.get(identity))
        for kind, path, names in observed.witnesses()
        for identity in [witness_id(kind, path, names)]
    ]


def _lane_rows(lanes: Sequence[PlannedLane], observed: Observed, previous: Manifest | None) -> tuple[Lane, ...]:
    """Each lane, replayed from a manifest only if all its validators declared witnesses, now and before."""
    rows = tuple(
        Lane(dimension, per_file, per_file and dimension not in observed.undeclared) for dimension, per_file, _ in lanes
    )
    if previous is None:
        return rows
    replayed = {lane.dimension: lane.replayed for lane in previous.lanes}
    return tuple(Lane(r.dimension, r.per_file, r.replayed and replayed.get(r.dimension, True)) for r in rows)


def _files_of(lanes: Sequence[PlannedLane]) -> tuple[dict[str, int], list[Path], list[int]]:
    """Every file a per-file lane checked: its index by path, the files in first-seen order, each one's lane bits."""
    files: dict[str, int] = {}
    order: list[Path] = []
    masks: list[int] = []
    for number, (_, per_file, paths) in enumerate(lanes):
        if not per_file:
            continue
        for path in paths:
            if path is None:
                continue
            key = os.fspath(path)
            index = files.get(key)
            if index is None:
                index = files[key] = len(order)
                order.append(path)
                masks.append(0)
            masks[index] |= 1 << number
    return files, order, masks


def _results_of(
    lanes: Sequence[PlannedLane], log: ResultLog, files: Mapping[str, int]
) -> tuple[dict[int, dict[int, dict[str, Any]]], set[int]]:
    """The results worth storing (more than "passed"), by file and lane; the files whose checks run again
    (an error among their results, or a check that never finished)."""
    segments, _ = segments_of(lanes)
    results: dict[int, dict[int, dict[str, Any]]] = {}
    rerun: set[int] = set()
    lane_of = _lane_index(segments)
    for index, result in log.stated():
        number, offset = lane_of(index)
        _, per_file, paths = lanes[number]
        path = paths[offset]
        if not per_file or path is None:
            continue
        file_index = files[os.fspath(path)]
        if result.error is not None:
            rerun.add(file_index)
            continue
        results.setdefault(file_index, {})[number] = _stored(result)
    for index in log.missing():
        number, offset = lane_of(index)
        path = lanes[number][2][offset]
        if path is not None:
            rerun.add(files[os.fspath(path)])
    return results, rerun


def _lane_index(segments: Sequence[tuple[int, str, Sequence[Path | None]]]) -> Any:
    import bisect

    starts = [start for start, _, _ in segments]

    def find(index: int) -> tuple[int, int]:
        number = bisect.bisect_right(starts, index) - 1
        return number, index - starts[number]

    return find


def _stored(result: ValidationResult) -> dict[str, Any]:
    data = result.to_dict()
    data.pop("cached", None)
    data.pop("duration_s", None)
    data.pop("status", None)
    return data


def _entry_for(
    name: str, mask: int, started_ns: int, *, again: bool, kept: FileEntry | None, seen: str | None
) -> FileEntry:
    """A file's entry: to run again (``again``), the previous manifest's (``kept``, re-trusted if it has settled),
    or as it is now, vouched for if its bytes are those ``seen`` as the run started."""
    if again:
        return FileEntry(name, None, False, CHANGED, mask)
    if kept is None:
        return _entry(name, mask, started_ns, seen)
    if kept.trusted:
        return FileEntry(name, kept.signature, True, kept.digest, mask)
    return _entry(name, mask, started_ns, kept.digest)


def _entry(path: str, mask: int, started_ns: int, before: str | None) -> FileEntry:
    """The file as it is now: trusted if it settled before the run, vouched for if its bytes are ``before``."""
    try:
        info = os.stat(path)
        digest = hash_file(path)
    except OSError:
        return FileEntry(path, None, False, CHANGED, mask)
    if settled(info, started_ns):
        return FileEntry(path, stat_signature(info), True, digest, mask)
    if before is not None and before == digest:
        return FileEntry(path, stat_signature(info), False, digest, mask)
    return FileEntry(path, None, False, CHANGED, mask)
