"""The benchmark suite's switches, corpora and ratio table.

``pytest benchmarks/`` runs the quick form (a small subset, every assertion kept);
``pytest benchmarks/ --memo-full`` (or ``MEMO_BENCH=full``) runs the full form. Either
way the session ends by printing the table of ratios and writing it, with
pytest-benchmark's own JSON, under ``.benchmarks/``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks._corpus import copy_stdlib, validated_files, wait_out_racy_window
from benchmarks._ratios import Ratio, RatioBook
from memo import ValidationCache, bind_cache

RESULTS = Path(__file__).resolve().parent.parent / ".benchmarks"
_book = pytest.StashKey[RatioBook]()


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does, in one form of the suite."""

    mode: str
    stdlib_subset: int | None
    """Files of the standard library in the repeated rounds (None: all of it)."""
    full_library_once: bool
    """Also run cold against warm once over the whole standard library."""
    cold_rounds: int
    hit_rounds: int
    hash_rounds: int
    scaling: tuple[int, ...]
    incremental_rounds: int


QUICK = Sizes("quick", 150, False, 2, 15, 7, (1_000, 3_000), 5)
FULL = Sizes("full", 300, True, 3, 30, 15, (1_000, 10_000, 100_000), 3)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--memo-full",
        action="store_true",
        default=False,
        help="run the full benchmark form (whole standard library, 100k-file scaling); also MEMO_BENCH=full",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_book] = RatioBook()
    # Leave pytest-benchmark's JSON behind unless the user chose a file. Its option is a
    # path (pytest-benchmark 5), read by its session, which pytest-benchmark's own
    # configure hook builds after ours has run.
    if getattr(config.option, "benchmark_json", None) is None and hasattr(config.option, "benchmark_json"):
        RESULTS.mkdir(exist_ok=True)
        config.option.benchmark_json = RESULTS / "memo-benchmarks.json"


QUICK_TIMEOUT_S = 600
"""No quick-form benchmark comes near this; a hang fails CI with a traceback instead of stalling it."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In the quick form, bound every test without a timeout of its own (the full form runs for long)."""
    if _sizes(config) is FULL:
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(QUICK_TIMEOUT_S))


def _sizes(config: pytest.Config) -> Sizes:
    full = config.getoption("--memo-full") or os.environ.get("MEMO_BENCH", "").lower() == "full"
    return FULL if full else QUICK


@pytest.fixture(scope="session")
def sizes(pytestconfig: pytest.Config) -> Sizes:
    return _sizes(pytestconfig)


@pytest.fixture
def record(pytestconfig: pytest.Config) -> Callable[[Ratio], Ratio]:
    """Record a ratio in the session's table, then assert its guard (if it has one)."""

    def check(ratio: Ratio) -> Ratio:
        pytestconfig.stash[_book].record(ratio)
        sign = ">=" if ratio.better == "higher" else "<="
        assert ratio.asserted, f"{ratio.name}: {ratio.value:.3g}, asserted {sign} {ratio.guard:g}"
        return ratio

    return check


@dataclass(frozen=True)
class Corpus:
    root: Path
    files: list[Path]

    @property
    def validated(self) -> int:
        """How many of ``files`` a run over ``root`` validates: the number the rows' check counts are made of."""
        return validated_files(self.root, self.files)


@pytest.fixture(scope="session")
def stdlib_subset(tmp_path_factory: pytest.TempPathFactory, sizes: Sizes) -> Corpus:
    """A private copy of the documented subset of the standard library, settled on disk."""
    root = tmp_path_factory.mktemp("stdlib-subset")
    files = copy_stdlib(root, sizes.stdlib_subset)
    wait_out_racy_window(files)
    return Corpus(root, files)


@pytest.fixture
def bound_cache(tmp_path: Path) -> Iterator[ValidationCache]:
    """An empty cache under ``tmp_path``, bound for the test (never the user's cache)."""
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache):
        yield cache


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    book = config.stash.get(_book, None)
    if book is None or not book.ratios:
        return
    mode = _sizes(config).mode
    terminalreporter.section(f"memo benchmark ratios ({mode} form)")
    for line in book.table():
        terminalreporter.write_line(line)
    path = RESULTS / "memo-ratios.json"
    book.write_json(path, mode)
    terminalreporter.write_line(f"ratios written to {path}")


@pytest.fixture(scope="session", autouse=True)
def _memo_compiled_as_installed() -> None:
    """memo's modules compiled to bytecode, as ``pip install`` leaves a package.

    An editable install compiles nothing, and with ``PYTHONDONTWRITEBYTECODE`` set (CI
    machines often set it) every ``memo`` process the suite starts would compile memo from
    source again: tens of milliseconds a process that no user's installed memo pays.
    ``compileall`` writes the bytecode whatever that variable says; Python then reads it.
    """
    import compileall

    project = Path(__file__).resolve().parent.parent
    compileall.compile_dir(str(project / "memo"), quiet=1)  # memo/validators, engine and cli are links into it
    compileall.compile_file(str(project / "orchestrator.py"), quiet=1)


@pytest.fixture(scope="session", autouse=True)
def _stop_pool_workers() -> Iterator[None]:
    """Stop the validators' worker pool at the end of the session, not in exit hooks."""
    yield
    from memo import validators

    validators.shutdown_workers()
