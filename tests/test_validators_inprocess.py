"""A handful of files is checked in-process, not in the pool, and the results are the same either way.

``syntax`` and ``complexity`` start a process pool for their work; a run with one file
edited only needs a few files compiled and measured, far less than starting the pool.
The same functions run either way (``memo.validators._workers``); these tests hold the
two ways to equal outcomes, and the in-process way to the pool's guarantees: a timeout
is an error result, an exception is the file's error, and no process is started.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memo import witness
from memo.cli import fastpath, main
from memo.validators import ComplexityValidator, SyntaxValidator, _pool, _process, _workers, shutdown_workers
from tests.helpers import write

FIXTURES = Path(__file__).parent / "fixtures" / "validators"


@pytest.fixture(autouse=True)
def _fresh_pool() -> Iterator[None]:
    """Each test starts with no pool and a whole in-process budget, and leaves none running."""
    shutdown_workers()
    yield
    shutdown_workers()


def odd_files(root: Path) -> list[str]:
    """Files each check reports something different for, and one that is missing."""
    deep = "x = " + "1 + " * 100_000 + "1\n"
    files = {
        "warning.py": 's = "\\d"\n',
        "nul.py": "x = 1\0\n",
        "latin.py": "# -*- coding: ascii -*-\nname = 'caf\u00e9'\n",
        "outside.py": "return 1\n",
        "tabs.py": "if True:\n\tx = 1\n        y = 2\n",
        "deep.py": deep,
    }
    paths = [str(FIXTURES / name) for name in ("clean.py", "complex.py", "syntax_error.py")]
    for name, text in files.items():
        write(root / name, text)
        paths.append(str(root / name))
    return [*paths, str(root / "missing.py")]


CHECKS: dict[str, tuple[Callable[[Any], Any], Callable[[list[str]], Any]]] = {
    "syntax": (_workers.check_syntax, lambda paths: paths),
    "complexity": (_workers.measure_complexity, lambda paths: (paths, 2)),
}


@pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")  # radon parsing warning.py
@pytest.mark.parametrize("check", sorted(CHECKS))
async def test_the_same_files_give_the_same_outcomes_in_process_and_in_the_pool(check: str, tmp_path: Path) -> None:
    func, job = CHECKS[check]
    paths = odd_files(tmp_path)
    in_pool = await _pool.run_in_pool(func, job(paths), 60)
    in_process = await _pool.run_in_process(func, job(paths), 60)
    assert in_process == in_pool
    assert len({(outcome.findings, outcome.error) for outcome in in_pool.values()}) > 4  # the files differ


@pytest.mark.parametrize("cls", [SyntaxValidator, ComplexityValidator], ids=lambda c: c.dimension)
async def test_a_handful_of_files_is_checked_without_starting_the_pool(cls: type[Any]) -> None:
    names = ("clean.py", "complex.py", "syntax_error.py")
    results = await asyncio.gather(*(cls(FIXTURES / name).validate() for name in names))
    assert _pool._executor is None
    expected = {
        "syntax": [[], [], ["syntax-error"]],
        "complexity": [[], ["too-complex"], ["unparsable"]],
    }[cls.dimension]
    assert [sorted({f.code for f in result.findings}) for result in results] == expected


async def test_files_beyond_the_in_process_budget_go_to_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pool, "IN_PROCESS_FILES", 2)
    names = ("clean.py", "complex.py", "syntax_error.py")
    results = await asyncio.gather(*(SyntaxValidator(FIXTURES / name).validate() for name in names))
    assert _pool._executor is not None
    assert [[f.code for f in result.findings] for result in results] == [[], [], ["syntax-error"]]
    assert not _pool.take_in_process([str(FIXTURES / "clean.py")])  # once the pool runs, it takes everything


async def test_a_large_file_goes_to_the_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pool, "IN_PROCESS_BYTES", 1000)
    big = tmp_path / "big.py"
    big.write_text("x = 1\n" * 200)
    assert not _pool.take_in_process([str(big)])
    assert _pool.take_in_process([str(FIXTURES / "clean.py")])


async def test_an_in_process_check_over_its_timeout_is_an_error_at_once() -> None:
    release = threading.Event()
    try:
        with pytest.raises(_process.ToolError, match=r"timed out after 0\.01 s"):
            await _pool.run_in_process(release.wait, 60, 0.01)
    finally:
        release.set()


async def test_an_exception_in_process_is_raised_as_from_a_worker() -> None:
    with pytest.raises(ValueError) as in_pool:
        await _pool.run_in_pool(int, "not a number", 60)
    with pytest.raises(ValueError) as in_process:
        await _pool.run_in_process(int, "not a number", 60)
    assert str(in_process.value) == str(in_pool.value)


def test_an_edited_file_is_checked_in_process_and_reported_as_without_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The partial run (manifest) checks the edited file in-process; ``--no-cache`` through the pool agrees."""
    monkeypatch.setattr(witness, "RACY_WINDOW_NS", 0)
    root = tmp_path / "tree"
    for name in ("clean.py", "complex.py"):
        write(root / name, (FIXTURES / name).read_text())
    write(root / "pyproject.toml", '[project]\nname = "tree"\n\n[tool.memo.complexity]\nmax_complexity = 2\n')
    monkeypatch.chdir(root)
    in_process: list[Any] = []
    real = _pool.run_in_process

    async def counting(func: Any, arg: Any, timeout: float) -> Any:
        in_process.append(arg)
        return await real(func, arg, timeout)

    monkeypatch.setattr(_pool, "run_in_process", counting)

    def report(*extra: str) -> list[dict[str, Any]]:
        capsys.readouterr()
        cache = str(tmp_path / "cache")
        main(["run", ".", "--dimension", "syntax,complexity", "--format", "json", "--cache-dir", cache, *extra])
        found = json.loads(capsys.readouterr().out)
        return [{k: v for k, v in r.items() if k not in ("cached", "duration_s")} for r in found["results"]]

    report()
    report()
    assert fastpath.LAST == "manifest"
    (root / "complex.py").write_text((FIXTURES / "complex.py").read_text() + "\n\ndef g(a):\n    return a or 1\n")
    in_process.clear()
    partly = report()
    assert fastpath.LAST == "partly" and len(in_process) == 2  # the edited file's syntax and complexity
    monkeypatch.setattr(_pool, "IN_PROCESS_FILES", 0)
    in_process.clear()
    assert report("--no-cache") == partly
    assert in_process == []
    assert any(finding["code"] == "too-complex" for result in partly for finding in result["findings"])
