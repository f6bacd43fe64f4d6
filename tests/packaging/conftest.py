"""memo as a user installs it: the wheel and sdist built once, fresh virtual environments per test.

Everything else in the suite runs against the editable checkout; these tests build the
distributions with ``python -m build`` (as a release would), install the wheel, not the
checkout, into environments made here, and use packages from the index exactly as a user
would: ``pip install`` by name. They need the package index, which CI reaches.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging._support import INSTALL_TIMEOUT_S, REPO, Distributions, Environment


@pytest.fixture(scope="session")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> Distributions:
    """``python -m build`` of this checkout: one wheel and one sdist."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    wheels = sorted(out.glob("*.whl"))
    sdists = sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(path.name for path in out.iterdir())
    return Distributions(wheel=wheels[0], sdist=sdists[0])


@pytest.fixture
def fresh_env(tmp_path: Path) -> Iterator[Environment]:
    """An empty virtual environment (with pip) in this test's directory."""
    root = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(root)
    yield Environment(root)
