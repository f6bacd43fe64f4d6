"""The packed manifest (schema 2): its columns, the one-pass ``stat`` check, the lanes' shared paths.

The run-level guarantees (staleness, sealing, atomic writes) are in ``test_manifest.py``;
here are the format's own edges: an older (JSON) manifest or one whose columns disagree
with its count is a miss even when sealed by this machine, every row survives a round
trip, and the one pass finds exactly the files that moved.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from memo import ValidationResult
from memo.cli import fastpath
from memo.filetable import FileEntry, FileTable
from memo.manifest import MAGIC, SCHEMA, SUFFIX, Lane, Manifest, ManifestStore
from memo.witness import CHANGED
from tests.helpers import write
from tests.test_manifest import Runs, _no_racy_window, only_manifest, runs, served, tree

__all__ = ["_no_racy_window", "runs", "tree"]  # fixtures used here by name

TRUSTED = (10, 1_000, 2_000, 7, 3)


def entry(path: str, *, trusted: bool = True, digest: str = "d", lanes: int = 1) -> FileEntry:
    return FileEntry(path, TRUSTED if trusted else None, trusted, digest, lanes)


def manifest_of(files: list[FileEntry], lanes: int = 1) -> Manifest:
    return Manifest(
        root="/nowhere",
        dimension_names=tuple(f"d{n}" for n in range(lanes)),
        lanes=tuple(Lane(f"d{n}", True, True) for n in range(lanes)),
        files=FileTable.of(files, lanes),
    )


def reseal(runs: Runs, data: bytes) -> None:
    """Store ``data`` as the only manifest, sealed by this machine's key under its own name."""
    (path,) = sorted((runs.cache / "manifests").glob(f"*{SUFFIX}"))
    sealed = fastpath.local_sealer().seal(f"memo-manifest/{SCHEMA}/{path.stem}", data)
    path.write_bytes(sealed)


def test_a_json_manifest_of_schema_one_is_a_miss_even_sealed_by_this_machine(runs: Runs) -> None:
    report = served(runs)
    old = {"schema": 1, "root": str(runs.root), "dimension_names": [], "lanes": [], "files": [], "results": {}}
    old.update({"witnesses": [], "unvouched": None, "served": "manifest"})
    reseal(runs, json.dumps(old).encode())
    after, how = runs.report()
    assert how == "checks" and after == report


def test_a_packed_manifest_whose_columns_disagree_with_its_count_is_a_miss(runs: Runs) -> None:
    report = served(runs)
    (path,) = sorted((runs.cache / "manifests").glob(f"*{SUFFIX}"))
    store = ManifestStore(runs.cache, fastpath.local_sealer())
    found = store.load(path.stem)
    assert found is not None
    reseal(runs, found.encode()[:-8])  # one inode/device word short, the tag still verifies
    assert store.load(path.stem) is None
    after, how = runs.report()
    assert how == "checks" and after == report


def test_every_row_survives_the_round_trip_and_only_a_trusted_row_keeps_its_signature() -> None:
    rows = [
        entry("a.py", lanes=0b1_0000_0001),
        entry("b \udcff.py", trusted=False, lanes=0b10),
        FileEntry("c.py", None, False, CHANGED, 0b11_1111_1111),
    ]
    manifest = manifest_of(rows, lanes=10)
    manifest.results = {1: {1: {"dimension": "d1", "passed": False}}}
    again = Manifest.decode(manifest.encode())
    assert again.files.width == 2
    assert list(again.files) == rows
    assert again.files[1].signature is None and not again.files[1].trusted
    assert again.results == manifest.results
    assert manifest.encode().startswith(MAGIC)


def test_an_empty_manifest_round_trips() -> None:
    manifest = manifest_of([])
    assert len(Manifest.decode(manifest.encode()).files) == 0
    assert manifest.verify().unchanged


def test_one_pass_finds_exactly_the_files_that_moved_or_are_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("memo.filetable._BLOCK", 2)  # rows compared two at a time: the block edges too
    paths = [tmp_path / f"m{n}.py" for n in range(7)]
    for path in paths:
        path.write_text("x = 1\n")
    rows = []
    for path in paths:
        info = path.stat()
        signature = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)
        rows.append(FileEntry(str(path), signature, True, "d", 1))
    rows[4] = FileEntry(str(paths[4]), None, False, "d", 1)
    table = Manifest.decode(manifest_of(rows).encode()).files
    assert table.moved() == [4]
    paths[1].write_text("x = 22\n")
    paths[6].unlink()
    assert table.moved() == [1, 4, 6]


def test_a_lane_that_checked_some_files_reads_them_through_the_one_shared_path_list() -> None:
    rows = [entry("a.py", lanes=0b11), entry("b.py", lanes=0b01), entry("c.py", lanes=0b11)]
    manifest = manifest_of(rows, lanes=2)
    finding = {"dimension": "d1", "passed": False, "findings": [], "file_path": "c.py", "error": "bad"}
    manifest.results = {2: {1: finding}}
    manifest = Manifest.decode(manifest.encode())
    assert manifest.files.in_lane(0) == range(3)
    assert list(manifest.files.in_lane(1)) == [0, 2]
    log, files, lanes = fastpath.replay(manifest, {})
    assert files == 3
    assert [list(paths) for _, _, paths in lanes] == [["a.py", "b.py", "c.py"], ["a.py", "c.py"]]
    assert lanes[0][2] is manifest.files.paths  # every file's lane shares the list itself
    replayed = log.at(4)
    assert isinstance(replayed, ValidationResult)
    assert (replayed.dimension, replayed.file_path, replayed.error) == ("d1", "c.py", "bad")
    assert [(r.dimension, r.file_path) for r in log.ordered()] == [
        ("d0", "a.py"),
        ("d1", "a.py"),
        ("d0", "b.py"),
        ("d0", "c.py"),
        ("d1", "c.py"),
    ]


def test_a_tree_with_files_only_some_lanes_check_is_served_as_the_checks_answer_it(runs: Runs, tree: Path) -> None:
    write(tree / "notes.pyi", "def f() -> int: ...\n")
    write(tree / "nb.ipynb", '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n')
    report = served(runs)
    assert report == runs.uncached()
    manifest = only_manifest(runs.cache)
    picked = [manifest.files.in_lane(n) for n in range(len(manifest.lanes))]
    assert any(len(rows) < len(manifest.files) for rows in picked)  # the shared list read through its rows
    status, text, how = runs()
    assert how == "manifest"
    off_status, off_text, _ = runs("--no-cache")
    assert status == off_status
    assert re.sub(r", \d+ cache hits?, \d+ miss(es)?, [\d.]+s", "", text) == re.sub(
        r", \d+ cache hits?, \d+ miss(es)?, [\d.]+s", "", off_text
    )
