"""The run manifest and the fast path: an unchanged tree answered in one pass, never a stale answer.

Every staleness case goes through the fast path explicitly: the run before the change
must have been answered from the manifest (``fastpath.LAST == "manifest"``), so each test
would fail with the fast path switched off; the run after it must not be, and must say
what ``--no-cache`` says. Runs are in-process (``memo.cli.main``) with the racy window
set to zero, so a file written by the test just before a run counts as settled; the
racy rule itself has its own tests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memo import witness
from memo.cli import fastpath, main
from memo.localauth import LocalSealer
from memo.manifest import SCHEMA, SUFFIX, Manifest, ManifestStore
from tests.helpers import write

DIMS = "syntax,lint,format"


class Runs:
    """``memo run`` in this process, in ``cwd``, with one cache directory."""

    def __init__(self, root: Path, cache: Path, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch) -> None:
        self.root = root
        self.cache = cache
        self.capsys = capsys
        self.mp = mp

    def __call__(self, *args: str, cwd: Path | None = None, dims: str | None = DIMS) -> tuple[int, str, str | None]:
        """Exit status, stdout, and how the run was answered (``fastpath.LAST``)."""
        self.mp.chdir(cwd or self.root)
        extra = [] if dims is None else ["--dimension", dims]
        self.capsys.readouterr()
        status = main(["run", *args, *extra, "--cache-dir", str(self.cache)])
        out = self.capsys.readouterr().out
        return status, out, fastpath.LAST

    def report(self, *args: str, cwd: Path | None = None, dims: str | None = DIMS) -> tuple[dict[str, Any], str | None]:
        """The JSON report, comparable across runs (no timings, no ``cached``), and how it was answered."""
        _, out, how = self(*args, "--format", "json", cwd=cwd, dims=dims)
        return comparable(json.loads(out)), how

    def uncached(self, *args: str, cwd: Path | None = None, dims: str | None = DIMS) -> dict[str, Any]:
        report, how = self.report("--no-cache", *args, cwd=cwd, dims=dims)
        assert how is None
        return report


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    summary = {k: v for k, v in report["summary"].items() if k not in ("wall_time_s", "cache_hits", "cache_misses")}
    results = [{k: v for k, v in r.items() if k not in ("cached", "duration_s")} for r in report["results"]]
    return {"summary": summary, "results": results}


@pytest.fixture(autouse=True)
def _no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(witness, "RACY_WINDOW_NS", 0)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    write(root / "pyproject.toml", '[project]\nname = "tree"\n\n[tool.ruff.lint]\nselect = ["E", "F", "INP"]\n')
    write(root / "app/__init__.py", "")
    write(root / "app/main.py", "import os\n\n\ndef main() -> str:\n    return os.sep\n")
    write(root / "app/util.py", "import sys\n\nVALUE = 1\n")
    write(root / "scripts/tool.py", "x = 1\n")
    return root


@pytest.fixture
def runs(tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runs:
    return Runs(tree, tmp_path / "cache", capsys, monkeypatch)


def served(runs: Runs, *args: str, cwd: Path | None = None, dims: str | None = DIMS) -> dict[str, Any]:
    """Prime the manifest, then prove the next run is answered from it; that report."""
    runs.report(*args, cwd=cwd, dims=dims)
    report, how = runs.report(*args, cwd=cwd, dims=dims)
    assert how == "manifest"
    return report


def after_change(runs: Runs, *args: str, cwd: Path | None = None, dims: str | None = DIMS) -> dict[str, Any]:
    """The run after a change: not answered from the manifest alone, and equal to ``--no-cache``."""
    report, how = runs.report(*args, cwd=cwd, dims=dims)
    assert how != "manifest"
    assert report == runs.uncached(*args, cwd=cwd, dims=dims)
    again, how = runs.report(*args, cwd=cwd, dims=dims)
    assert how == "manifest" and again == report
    return report


def files_of(report: dict[str, Any]) -> set[str]:
    return {Path(r["file_path"]).name for r in report["results"]}


def git(root: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)  # nosec B603 B607


# -- the fast path answers, and says the same --------------------------------------------------


def test_an_unchanged_tree_is_answered_from_the_manifest_as_the_checks_answer_it(runs: Runs) -> None:
    report = served(runs)
    assert report == runs.uncached()
    assert report["summary"]["files"] >= 4


@pytest.mark.parametrize("form", [["--format", "sarif"], ["--format", "text"], ["--statistics"], ["-q"]])
def test_every_report_form_and_exit_status_from_the_manifest_equals_the_checks(runs: Runs, form: list[str]) -> None:
    runs(*form)
    status, out, how = runs(*form)
    assert how == "manifest"
    off_status, off_out, _ = runs("--no-cache", *form)
    assert status == off_status == 1

    def steady(text: str) -> str:
        if form == ["--format", "sarif"]:
            document = json.loads(text)
            for result in document["runs"][0]["results"]:
                result["properties"].pop("cached", None)
            return json.dumps(document, sort_keys=True)
        return re.sub(r", \d+ cache hits?, \d+ miss(es)?, [\d.]+s", "", text)

    assert steady(out) == steady(off_out)


def test_the_manifest_is_switched_off_by_its_environment_variable(runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    served(runs)
    monkeypatch.setenv(fastpath.SWITCH_ENV, "off")
    _, how = runs.report()
    assert how is None


# -- which files are checked -------------------------------------------------------------------


def test_an_added_file_is_checked(runs: Runs, tree: Path) -> None:
    served(runs)
    write(tree / "app/extra.py", "import os\n")
    assert "extra.py" in files_of(after_change(runs))


def test_a_deleted_file_is_dropped(runs: Runs, tree: Path) -> None:
    served(runs)
    (tree / "app/util.py").unlink()
    assert "util.py" not in files_of(after_change(runs))


def test_a_renamed_file_is_reported_under_its_new_name(runs: Runs, tree: Path) -> None:
    served(runs)
    (tree / "app/util.py").rename(tree / "app/helpers.py")
    assert {"helpers.py"} <= files_of(after_change(runs)) and "util.py" not in files_of(runs.report()[0])


def test_tracked_and_untracked_files_added_deleted_and_renamed_in_git(runs: Runs, tree: Path) -> None:
    git(tree, "init", "-q", "-b", "main")
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "first")
    served(runs)
    write(tree / "app/untracked.py", "import os\n")
    assert "untracked.py" in files_of(after_change(runs))
    git(tree, "add", "-A")
    git(tree, "commit", "-qm", "tracked")
    after_change(runs)  # git's index changed
    git(tree, "mv", "app/untracked.py", "app/moved.py")
    assert "moved.py" in files_of(after_change(runs))
    git(tree, "rm", "-qf", "app/moved.py")
    assert "moved.py" not in files_of(after_change(runs))


def test_a_gitignore_edit_changes_which_files_are_checked(runs: Runs, tree: Path) -> None:
    git(tree, "init", "-q", "-b", "main")
    write(tree / ".gitignore", "")
    served(runs)
    (tree / ".gitignore").write_text("scripts/\n")
    assert "tool.py" not in files_of(after_change(runs))


def test_an_exclude_edit_changes_which_files_are_checked(runs: Runs, tree: Path) -> None:
    served(runs)
    with open(tree / "pyproject.toml", "a", encoding="utf-8") as out:
        out.write('\n[tool.memo]\nexclude = ["scripts/"]\n')
    assert "tool.py" not in files_of(after_change(runs))


# -- what the checks' contexts depend on -------------------------------------------------------


def test_a_nested_ruff_config_edit_is_seen(runs: Runs, tree: Path) -> None:
    write(tree / "app/ruff.toml", '[lint]\nselect = ["E"]\n')
    before = served(runs)
    (tree / "app/ruff.toml").write_text('[lint]\nselect = ["E", "F"]\n')
    assert after_change(runs) != before


def test_an_extended_ruff_config_edit_is_seen(runs: Runs, tree: Path) -> None:
    write(tree / "configs/base.toml", '[lint]\nselect = ["E"]\n')
    write(tree / "ruff.toml", 'extend = "configs/base.toml"\n')
    before = served(runs)
    (tree / "configs/base.toml").write_text('[lint]\nselect = ["E", "F"]\n')
    assert after_change(runs) != before


def test_an_added_init_file_is_seen_by_the_files_beside_it(runs: Runs, tree: Path) -> None:
    before = served(runs)
    assert any(f["code"] == "INP001" for r in before["results"] for f in r["findings"])
    write(tree / "scripts/__init__.py", "")
    after = after_change(runs)
    assert not any(f["code"] == "INP001" for r in after["results"] for f in r["findings"])


def test_a_same_size_edit_with_its_mtime_restored_is_seen(runs: Runs, tree: Path) -> None:
    served(runs)
    path = tree / "app/util.py"
    info = path.stat()
    path.write_text(path.read_text().replace("VALUE = 1", "VALUE=  1"))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert path.stat().st_size == info.st_size and path.stat().st_mtime_ns == info.st_mtime_ns
    report, how = runs.report()
    assert how == "partly"
    assert report == runs.uncached()


def test_a_file_changed_within_the_racy_window_is_read_again_until_it_settles(
    runs: Runs, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served(runs)
    monkeypatch.setattr(witness, "RACY_WINDOW_NS", 3600 * 10**9)  # everything is recent
    (tree / "app/util.py").write_text("import sys\n\nVALUE = 2\n")
    runs.report()
    manifest = only_manifest(runs.cache)
    entry = next(f for f in manifest.files if f.path.endswith("util.py"))
    assert not entry.trusted  # its signature alone may not vouch for it: the next run reads it again
    _, how = runs.report()
    assert how == "manifest"


def test_touching_a_file_keeps_the_fast_path(runs: Runs, tree: Path) -> None:
    served(runs)
    os.utime(tree / "app/util.py")
    _, how = runs.report()
    assert how == "manifest"


def test_an_edited_file_runs_only_its_own_checks(runs: Runs, tree: Path) -> None:
    served(runs)
    (tree / "app/util.py").write_text("import sys\n\nVALUE = 2\n")
    _, out, how = runs("--format", "json")
    assert how == "partly"
    summary = json.loads(out)["summary"]
    checks = summary["cache_misses"] + summary["cache_hits"]
    assert summary["cache_misses"] == 3 and checks > 3  # util.py's three; the rest from the manifest


# -- the run configuration ---------------------------------------------------------------------


def test_an_interpreter_upgrade_is_another_configuration(runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    served(runs)
    monkeypatch.setattr(sys, "version", sys.version + " (upgraded)")
    _, how = runs.report()
    assert how == "checks"


def test_a_package_installed_beside_the_tools_is_seen(runs: Runs, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    runs.mp.syspath_prepend(str(site))
    served(runs)
    (site / "ruff_plugin-1.0.dist-info").mkdir()
    after_change(runs)


def test_a_tools_executable_replaced_is_seen(runs: Runs, tree: Path) -> None:
    served(runs)
    manifest = only_manifest(runs.cache)
    from memo.validators import _tools

    ruff = _tools.find_tool("ruff")
    assert ruff is not None
    assert any(w.kind == "file" and w.path == ruff.argv[0] for w in manifest.witnesses)


def test_validation_cache_enabled_switched_off_bypasses_the_manifest(
    runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = served(runs)
    monkeypatch.setenv("VALIDATION_CACHE_ENABLED", "false")
    _, out, how = runs("--format", "json")
    assert how is None and json.loads(out)["summary"]["cache_hits"] == 0
    monkeypatch.delenv("VALIDATION_CACHE_ENABLED")
    report, how = runs.report()
    assert how == "manifest" and report == before


def test_another_dimension_list_is_another_configuration(runs: Runs) -> None:
    served(runs)
    report, how = runs.report(dims="syntax")
    assert how == "checks"
    assert report == runs.uncached(dims="syntax")


def test_another_config_file_or_an_edit_of_it_is_seen(runs: Runs, tree: Path, tmp_path: Path) -> None:
    config = write(tmp_path / "memo.toml", "[lint]\nignore = []\n")
    served(runs, "--config", str(config))
    other = write(tmp_path / "other.toml", '[lint]\nignore = ["F401"]\n')
    report, how = runs.report("--config", str(other))
    assert how == "checks" and report == runs.uncached("--config", str(other))
    config.write_text('[lint]\nignore = ["F401"]\n')
    after_change(runs, "--config", str(config))


def test_a_cache_directory_inside_the_tree_does_not_keep_the_manifest_from_settling(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = Runs(tree, tree / ".memo-cache", capsys, monkeypatch)
    inside.report()  # makes the cache directory: a change to the tree, once
    served(inside)
    (tree / "app/util.py").write_text("VALUE = 2\n")
    _, how = inside.report()
    assert how == "partly"  # the entries it wrote into the tree's cache are no change to the tree
    again, how = inside.report()
    assert how == "manifest" and again == inside.uncached()


def test_a_run_from_another_directory_is_its_own_configuration(runs: Runs, tree: Path) -> None:
    served(runs)
    report, how = runs.report(cwd=tree / "app")
    assert how == "checks"
    assert report == runs.uncached(cwd=tree / "app")
    assert files_of(report) == {"__init__.py", "main.py", "util.py"}
    assert served(runs, cwd=tree / "app") == report


# -- the manifest as an entry ------------------------------------------------------------------


def only_manifest(cache: Path) -> Manifest:
    store = ManifestStore(cache, fastpath.local_sealer())
    (key,) = store.run_keys()
    found = store.load(key)
    assert found is not None
    return found


def manifest_files(cache: Path) -> list[Path]:
    return sorted((cache / "manifests").glob(f"*{SUFFIX}"))


def test_a_truncated_manifest_is_a_miss(runs: Runs) -> None:
    served(runs)
    (path,) = manifest_files(runs.cache)
    path.write_bytes(path.read_bytes()[:-10])
    _, how = runs.report()
    assert how == "checks"


def test_a_manifest_sealed_under_another_key_is_a_miss(runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    served(runs)
    monkeypatch.setenv("VALIDATION_CACHE_LOCAL_KEY", "another-machine-key-" + "1" * 32)
    _, how = runs.report()
    assert how == "checks"


def test_a_planted_manifest_is_a_miss_even_when_it_reads_well(runs: Runs) -> None:
    report = served(runs)
    (path,) = manifest_files(runs.cache)
    manifest = only_manifest(runs.cache)
    manifest.results = {}  # every finding gone: a planted "all clean"
    attacker = LocalSealer(b"an attacker's own key, not the local one", "a test")
    forged = attacker.seal(f"memo-manifest/{SCHEMA}/{path.stem}", manifest.encode())
    path.write_bytes(forged)
    after, how = runs.report()
    assert how == "checks" and after == report


def test_a_manifest_moved_to_another_configurations_name_is_a_miss(runs: Runs) -> None:
    served(runs)
    served(runs, dims="syntax")
    first, second = manifest_files(runs.cache)
    first.write_bytes(second.read_bytes())
    outcomes = {runs.report()[1], runs.report(dims="syntax")[1]}
    assert "checks" in outcomes


def test_a_writer_killed_mid_write_leaves_the_manifest_whole(runs: Runs) -> None:
    served(runs)
    (path,) = manifest_files(runs.cache)
    left = path.with_name(f".{path.stem}.999.dead.tmp")
    left.write_bytes(path.read_bytes()[:100])  # what a SIGKILL between write and rename leaves
    _, how = runs.report()
    assert how == "manifest"
    os.utime(left, (0, 0))
    (runs.root / "app/util.py").write_text("VALUE = 3\n")
    runs.report()
    assert not left.exists()  # the next write removes what a killed writer left behind


def test_concurrent_writers_each_leave_a_whole_manifest(runs: Runs, tmp_path: Path) -> None:
    import threading

    served(runs)
    manifest = only_manifest(runs.cache)
    store = ManifestStore(runs.cache, fastpath.local_sealer())
    (key,) = store.run_keys()
    start = threading.Barrier(4)
    loaded: list[Manifest | None] = []

    def write_and_read() -> None:
        start.wait()
        for _ in range(20):
            assert store.save(key, manifest)
            loaded.append(store.load(key))

    threads = [threading.Thread(target=write_and_read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(found is not None and len(found.files) == len(manifest.files) for found in loaded)
    assert not list((runs.cache / "manifests").glob("*.tmp"))


def test_cache_clear_removes_the_manifests(runs: Runs) -> None:
    served(runs)
    assert main(["cache", "clear", "--cache-dir", str(runs.cache)]) == 0
    assert not manifest_files(runs.cache)
    _, how = runs.report()
    assert how == "checks"


# -- users' validators -------------------------------------------------------------------------

USER_VALIDATOR = '''
from __future__ import annotations

import os
from typing import ClassVar

from memo import ValidationResult, cached_validation
from memo.validators import Validator


class Banned(Validator):
    """A finding for each word of the project's banned.txt found in a file."""

    dimension: ClassVar[str] = "banned{suffix}"
    version: ClassVar[str] = "1"

    def banned_file(self) -> str:
        return os.path.join(str(self.root), "banned.txt")

    def cache_context(self) -> str:
        try:
            with open(self.banned_file(), encoding="utf-8") as handle:
                return handle.read()
        except OSError:
            return ""
{witnesses}
    @cached_validation()
    async def validate(self) -> ValidationResult:
        words = self.cache_context().split()
        text = self.file_path.read_text(encoding="utf-8") if self.file_path else ""
        found = [word for word in words if word in text]
        return ValidationResult(self.dimension, passed=not found, file_path=self.file_path)
'''

DECLARED = """
    def cache_witnesses(self) -> list[str]:
        return [self.banned_file()]
"""


def user_validator(tree: Path, declared: bool) -> str:
    """A project validator under a fresh module name (this process imports each once); its dimension."""
    suffix = uuid.uuid4().hex[:8]
    package = f"checks_{suffix}"
    write(tree / package / "__init__.py", "")
    source = USER_VALIDATOR.format(suffix=suffix, witnesses=DECLARED if declared else "")
    write(tree / package / "banned.py", source)
    write(tree / "banned.txt", "forbidden\n")
    with open(tree / "pyproject.toml", "a", encoding="utf-8") as out:
        out.write(f'\n[tool.memo]\nvalidators = ["{package}.banned:Banned"]\nexclude = ["{package}/"]\n')
    return f"banned{suffix}"


def test_a_validator_declaring_its_witnesses_is_answered_from_the_manifest(runs: Runs, tree: Path) -> None:
    runs.mp.setenv("VALIDATION_CACHE_TRUST_PROJECT", "1")  # the project's own validators are loaded
    dimension = user_validator(tree, declared=True)
    served(runs, dims=f"syntax,{dimension}")
    (tree / "banned.txt").write_text("VALUE\n")
    report = after_change(runs, dims=f"syntax,{dimension}")
    assert any(not r["passed"] for r in report["results"] if r["dimension"] == dimension)


def test_a_validator_without_witnesses_is_planned_every_run_and_the_rest_is_not(runs: Runs, tree: Path) -> None:
    runs.mp.setenv("VALIDATION_CACHE_TRUST_PROJECT", "1")  # the project's own validators are loaded
    dimension = user_validator(tree, declared=False)
    dims = f"syntax,{dimension}"
    runs.report(dims=dims)
    _, out, how = runs("--format", "json", dims=dims)
    assert how == "partly"
    summary = json.loads(out)["summary"]
    assert summary["cache_hits"] == 2 * summary["files"]  # its own checks ran, through the cache
    (tree / "banned.txt").write_text("VALUE\n")
    report, how = runs.report(dims=dims)
    assert how == "partly"
    assert report == runs.uncached(dims=dims)


def test_a_changed_files_check_without_witnesses_runs_once_and_is_reported_as_run(runs: Runs, tree: Path) -> None:
    """Its lane runs over every file anyway: the changed files' own pass must not run it first.

    Run in both, the first pass computed and stored the entry, the second was served it,
    and the report called the edited file's check a hit though this run had computed it.
    """
    runs.mp.setenv("VALIDATION_CACHE_TRUST_PROJECT", "1")  # the project's own validators are loaded
    dimension = user_validator(tree, declared=False)
    dims = f"syntax,{dimension}"
    runs.report(dims=dims)
    (tree / "app/util.py").write_text("import sys\n\nVALUE = 'forbidden'\n")
    _, out, how = runs("--format", "json", dims=dims)
    assert how == "partly"
    report = json.loads(out)
    edited = {r["dimension"]: r for r in report["results"] if r["file_path"].endswith("util.py")}
    assert not edited[dimension]["passed"] and not edited[dimension]["cached"]
    assert not edited["syntax"]["cached"]
    assert report["summary"]["cache_misses"] == 2  # util.py's two checks, each once; the rest hits or replayed
    assert comparable(report) == runs.uncached(dims=dims)


PROJECT_VALIDATOR = """
from __future__ import annotations

import os
from typing import ClassVar

from memo import ValidationResult
from memo.validators import Validator


class Whole(Validator):
    \"\"\"A project-level check that counts its runs in the file $WHOLE_RUNS names.\"\"\"

    dimension: ClassVar[str] = "whole{suffix}"
    version: ClassVar[str] = "1"
    per_file: ClassVar[bool] = False

    async def validate(self) -> ValidationResult:
        with open(os.environ["WHOLE_RUNS"], "a", encoding="utf-8") as handle:
            handle.write("ran\\n")
        return ValidationResult(self.dimension, passed=True)
"""


def test_a_project_level_check_runs_once_in_a_run_answered_partly(runs: Runs, tree: Path, tmp_path: Path) -> None:
    """A project-level check is in no file's own pass: it runs once, with the lanes no witness vouches for."""
    runs.mp.setenv("VALIDATION_CACHE_TRUST_PROJECT", "1")
    counter = tmp_path / "whole-runs.txt"
    runs.mp.setenv("WHOLE_RUNS", str(counter))
    suffix = uuid.uuid4().hex[:8]
    write(tree / f"whole_{suffix}" / "__init__.py", "")
    write(tree / f"whole_{suffix}" / "check.py", PROJECT_VALIDATOR.format(suffix=suffix))
    with open(tree / "pyproject.toml", "a", encoding="utf-8") as out:
        out.write(f'\n[tool.memo]\nvalidators = ["whole_{suffix}.check:Whole"]\nexclude = ["whole_{suffix}/"]\n')
    dims = f"syntax,whole{suffix}"
    runs.report(dims=dims)
    assert counter.read_text().count("ran") == 1
    (tree / "app/util.py").write_text("import sys\n\nVALUE = 2\n")
    _, how = runs.report(dims=dims)
    assert how == "partly"
    assert counter.read_text().count("ran") == 2


# -- explain, and what the fast path imports -----------------------------------------------------


def test_explain_says_when_the_manifest_served_a_file(runs: Runs, tree: Path) -> None:
    served(runs)
    runs.capsys.readouterr()
    assert main(["explain", str(tree / "app/util.py"), "--cache-dir", str(runs.cache)]) == 0
    out = runs.capsys.readouterr().out
    assert "app/util.py: manifest: the last run of this configuration was served from its manifest" in out
    assert "unchanged since: the next run serves it without planning a key" in out


def test_explain_says_a_file_too_recent_to_vouch_for_was_not_edited_since(runs: Runs, tree: Path) -> None:
    fresh = tree / "app/util.py"
    ahead = fresh.stat().st_mtime_ns + 3600 * 10**9  # changed "after" the run started: no stat can vouch for it
    os.utime(fresh, ns=(ahead, ahead))
    runs.report()
    runs.capsys.readouterr()
    assert main(["explain", str(fresh), "--cache-dir", str(runs.cache)]) == 0
    out = runs.capsys.readouterr().out
    assert "this file changed during or just before that run, too recently for its stat to vouch for it" in out
    assert "has changed since" not in out


def test_the_fast_path_imports_no_engine_tool_or_validator(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    script = (
        "import sys, memo.witness as w\n"
        "w.RACY_WINDOW_NS = 0\n"
        "from memo.cli import main, fastpath\n"
        "main(sys.argv[1:])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'asyncio', 'wrapt', 'diskcache', 'rich', 'radon'}"
        " or m in {'memo.cache', 'memo.decorator', 'memo.store', 'memo.engine.engine', 'memo.cli.run'}"
        " or m.startswith('memo.validators'))\n"
        "print('HOW', fastpath.LAST, heavy, file=sys.stderr)\n"
    )
    argv = [sys.executable, "-c", script, "run", ".", "--cache-dir", str(cache), "--dimension", DIMS, "-q"]
    first = subprocess.run(argv, cwd=tree, capture_output=True, text=True, check=False)
    assert "HOW checks" in first.stderr, first.stderr
    second = subprocess.run(argv, cwd=tree, capture_output=True, text=True, check=False)
    assert "HOW manifest []" in second.stderr, second.stderr
    assert second.stdout == first.stdout


@pytest.fixture(autouse=True)
def _forget_last() -> Iterator[None]:
    fastpath.LAST = None
    yield
    fastpath.LAST = None


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["."],
        ["src", "tests", "-q"],
        ["--format", "json", "-o", "out.json", "."],
        ["--format=sarif", "--dimension", "lint", "--dimensions=format,syntax", "--statistics"],
        ["-j", "2", "--jobs=3", "--config", "c.toml", "--cache-dir", "c", "--exit-zero", "--no-cache"],
        ["--remote", "redis://localhost:6379/0", "--remote-mode", "read-only", "a.py"],
    ],
)
def test_the_fast_paths_reading_of_the_command_line_is_argparses(argv: list[str]) -> None:
    from memo.cli import build_parser

    assert fastpath.quick_args(argv) == build_parser().parse_args(["run", *argv])


@pytest.mark.parametrize(
    "argv",
    [
        ["--dim", "lint"],  # an abbreviation: argparse's to read
        ["-j4"],
        ["-qj", "2"],
        ["a", "-q", "b"],  # paths after an option: argparse says no
        ["--format", "xml"],
        ["--jobs", "0"],
        ["--output"],
        ["--", "-weird.py"],
        ["--trust-project"],
        ["--help"],
        ["--unknown"],
    ],
)
def test_anything_unusual_on_the_command_line_is_left_to_argparse(argv: list[str]) -> None:
    assert fastpath.quick_args(argv) is None
