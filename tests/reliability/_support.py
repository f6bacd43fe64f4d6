"""Shared pieces of the reliability suite: a fingerprinting validator, scale, privilege drop, a lock holder.

Sizes are bounded for the default run; ``MEMO_STRESS_SCALE=10`` multiplies every count
(processes stay at their minimum of four times the scale's square root).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from memo import Finding, ValidationResult, cached_validation, hash_bytes
from memo.validators.base import Validator

SCALE = max(float(os.environ.get("MEMO_STRESS_SCALE", "1")), 0.1)
HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent.parent
NOBODY = 65534


def scaled(count: int) -> int:
    """``count`` times ``MEMO_STRESS_SCALE``, at least 1."""
    return max(1, round(count * SCALE))


def fingerprint(dimension: str, content: bytes) -> str:
    """What a correct result for ``content`` in ``dimension`` carries: checked on every read."""
    return f"{dimension}|{hash_bytes(content)}"


class FingerprintValidator(Validator):
    """Returns one finding whose message is the fingerprint of the bytes it read.

    ``runs`` counts body executions per fingerprint, so a test sees both wrong results
    (a message that does not match the file) and duplicate computations.
    """

    dimension: ClassVar[str] = "fingerprint"
    version: ClassVar[str] = "1"
    runs: ClassVar[Counter[str]]
    padding: ClassVar[int] = 0
    """Extra findings per result: 500 make an entry large enough for a value file of its own."""

    @cached_validation(dimension="fingerprint")
    async def validate(self) -> ValidationResult:
        assert self.file_path is not None
        content = self.file_path.read_bytes()
        mark = fingerprint(self.dimension, content)
        type(self).runs[mark] += 1
        findings = [Finding(str(self.file_path), 1, 1, "FP", mark, "info")]
        findings += [Finding(str(self.file_path), n, 1, "PAD", "padding " * 8, "info") for n in range(self.padding)]
        return ValidationResult(self.dimension, True, findings, file_path=str(self.file_path))


def fingerprint_validator(**attrs: Any) -> type[FingerprintValidator]:
    """A fresh subclass with its own run counter."""
    return type("Fingerprint", (FingerprintValidator,), {"runs": Counter(), **attrs})


def record_figure(name: str, **values: Any) -> None:
    """Append a figure for the README's Reliability section to ``$MEMO_RELIABILITY_REPORT``, if set."""
    target = os.environ.get("MEMO_RELIABILITY_REPORT")
    print(f"[reliability] {name}: {json.dumps(values, sort_keys=True)}")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps({"figure": name, **values}, sort_keys=True) + "\n")


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@contextlib.contextmanager
def shared_tmp() -> Iterator[Path]:
    """A temporary directory an unprivileged child can enter (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix="memo-reliability-"))
    os.chmod(path, 0o755)  # nosec B103 - a directory an unprivileged child must enter
    try:
        yield path
    finally:
        import shutil

        shutil.rmtree(path, ignore_errors=True)


def as_unprivileged(work: Callable[[], Any]) -> Any:
    """``work()``'s JSON-able return value, computed by a user who cannot read everything.

    CI runs as root, which reads and writes anything, so permission faults would never
    happen. A forked child drops to uid/gid ``nobody`` first (exec'ing a new interpreter
    is not possible: it lives under root's home). Not root: ``work()`` runs in-process.
    """
    if not is_root():
        return work()
    for codec in ("ascii", "utf-8", "latin-1"):
        codecs.lookup(codec)  # the child cannot import a codec module from under root's home: look them up first
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        status = 0
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            payload = json.dumps({"ok": work()})
        except BaseException as exc:
            payload = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
            status = 1
        with os.fdopen(writer, "w") as out:
            out.write(payload)
        os._exit(status)
    os.close(writer)
    with os.fdopen(reader) as source:
        answer = json.loads(source.read() or '{"error": "child died"}')
    os.waitpid(pid, 0)
    if "error" in answer:
        raise AssertionError(f"unprivileged child failed: {answer['error']}")
    return answer["ok"]


_HOLDER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
con.execute("UPDATE Settings SET value = value WHERE key = 'count'")
print("locked", flush=True)
sys.stdin.readline()
con.execute("COMMIT")
"""


@contextlib.contextmanager
def write_lock_held(database: Path) -> Iterator[Callable[[], None]]:
    """Another process holds a write transaction on ``database`` until the yielded release is called."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(database)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "locked"

    def release() -> None:
        if holder.poll() is None:
            assert holder.stdin is not None
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait()

    try:
        yield release
    finally:
        release()


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is still a process that has not exited (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
