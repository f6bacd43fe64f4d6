"""What the packaging tests share: the built distributions and a fresh environment to run in.

Everything else in the suite runs against the editable checkout; these tests build the
distributions with ``python -m build`` (as a release would), install the wheel, not the
checkout, into environments made here, and use packages from the index exactly as a user
would: ``pip install`` by name. They need the package index, which CI reaches.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT_S = 600
"""A fresh environment installs memo's dependencies (and its tools) from the index."""


@dataclass(frozen=True)
class Distributions:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Environment:
    """A fresh virtual environment, and how to run its programs with nothing of the suite's leaking in."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def run(
        self, *args: str | os.PathLike[str], cwd: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = {
            key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV", "PYTEST"))
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.root)
        done = subprocess.run(
            [str(arg) for arg in args],
            cwd=cwd or self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{[str(arg) for arg in args]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    def pip(self, *args: str | os.PathLike[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(self.python, "-m", "pip", "--disable-pip-version-check", *args, check=check)

    def python_ok(self, code: str, cwd: Path | None = None) -> str:
        """Runs ``code`` in this environment from a neutral directory; its stdout."""
        return self.run(self.python, "-c", code, cwd=cwd).stdout
