"""The Python 3.10 path: with no ``tomllib`` in the standard library, memo parses TOML with ``tomli``.

Only one interpreter runs here, so the fallback is forced: ``sys.modules["tomllib"] = None``
makes ``import tomllib`` fail as it does on 3.10. A whole ``memo run`` then reads the
project's ``[tool.memo]`` table and bandit's ``[tool.bandit]`` through ``tomli``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import write

FORCED = (
    "import sys\n"
    "sys.modules['tomllib'] = None\n"
    "from memo._toml import tomllib\n"
    "assert tomllib.__name__ == 'tomli', tomllib.__name__\n"
    "from memo.__main__ import main\n"
    "sys.argv[0] = 'memo'\n"
    "sys.exit(main())\n"
)


def test_memo_reads_project_config_through_tomli_when_tomllib_is_missing(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(
        project / "pyproject.toml",
        '[tool.memo]\nexclude = ["skipped/**"]\n\n[tool.memo.complexity]\nmax_complexity = 1\n',
    )
    write(project / "app.py", "def pick(x: int) -> int:\n    if x:\n        return 1\n    return 2\n")
    write(project / "skipped" / "other.py", "def pick(x: int) -> int:\n    if x:\n        return 1\n    return 2\n")
    done = subprocess.run(
        [sys.executable, "-c", FORCED, "run", ".", "--dimension", "complexity", "--no-cache", "--format", "json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    flagged = {Path(finding["path"]).name for result in report["results"] for finding in result["findings"]}
    assert flagged == {"app.py"}, "max_complexity = 1 and the exclude both came from pyproject.toml via tomli"


def test_the_fallback_is_the_only_place_that_chooses_a_toml_parser() -> None:
    repo = Path(__file__).resolve().parent.parent
    choosers = [
        path.relative_to(repo).as_posix()
        for directory in ("memo", "validators", "memo_engine", "memo_cli")
        for path in (repo / directory).rglob("*.py")
        if "import tomli" in path.read_text(encoding="utf-8")
    ]
    assert choosers == ["memo/_toml.py"]
