"""One process of the local-lease tests: a cache directory shared with other processes on this machine.

``python tests/_local_machine.py ROOT CACHE_DIR LOG [--gate PATH] [--polled PATH] [--ready PATH]
[--start PATH] [--wait-s S] [--lease-ms N]`` validates every ``*.py`` under ROOT with a
validator that appends one line to LOG each time its body runs (so tests count checks
run across processes), and prints the results and the lease counters as JSON.

``--gate``: the body waits until PATH exists. ``--polled``: PATH is created the first
time this process looks at a lease another holds (it is waiting). ``--ready``/``--start``:
create ``--ready`` and wait for ``--start`` before validating (a start line for processes
started together). The waits are on files, never on time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memo import ValidationCache, ValidationResult, bind_cache, cached_validation
from memo.lease import LeasePolicy
from memo.locallease import LocalLeases
from memo.validators import Validator
from tests.helpers import append_line, todo_result


async def _until_exists(path: str) -> None:
    while not os.path.exists(path):
        await asyncio.sleep(0.005)


class LocalValidator(Validator):
    """Flags lines with "TODO"; logs every run of its body."""

    dimension: ClassVar[str] = "todos"
    version: ClassVar[str] = "1"
    log: ClassVar[str] = ""
    gate: ClassVar[str | None] = None

    @cached_validation(dimension="todos")
    async def validate(self) -> ValidationResult:
        assert self.file_path is not None
        append_line(type(self).log, f"{os.getpid()} {self.file_path.name}\n")
        gate = type(self).gate
        if gate is not None:
            await _until_exists(gate)
        return todo_result(self.file_path)


def _report_first_poll(path: str) -> None:
    """Create ``path`` the first time a lease held by another is looked at (an observer, not a change)."""
    state = LocalLeases.lease_state

    async def lease_state(self: LocalLeases, key: str) -> tuple[bytes | None, bool] | None:
        answer = await state(self, key)
        if answer is not None and answer[1] and not os.path.exists(path):
            Path(path).touch()
        return answer

    LocalLeases.lease_state = lease_state  # type: ignore[method-assign]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("cache_dir")
    parser.add_argument("log")
    parser.add_argument("--gate")
    parser.add_argument("--polled")
    parser.add_argument("--ready")
    parser.add_argument("--start")
    parser.add_argument("--wait-s", type=float, default=600.0)
    parser.add_argument("--lease-ms", type=int, default=600_000)
    args = parser.parse_args()
    LocalValidator.log = args.log
    LocalValidator.gate = args.gate
    if args.polled:
        _report_first_poll(args.polled)
    root = Path(args.root)
    policy = LeasePolicy(ttl_ms=args.lease_ms, wait_s=args.wait_s)
    if args.ready:
        Path(args.ready).touch()
    if args.start:
        await _until_exists(args.start)
    with ValidationCache(args.cache_dir, lease=policy) as cache, bind_cache(cache, root=root):
        files = sorted(root.rglob("*.py"))
        results = await asyncio.gather(*(LocalValidator(path, {}, root).validate() for path in files))
        report = [[Path(r.file_path or "").name, r.passed, [f.line for f in r.findings], r.cached] for r in results]
        leases = cache.local_leases()
        counters = None if leases is None else leases.counters.__dict__
    print(json.dumps({"results": report, "leases": counters}))


if __name__ == "__main__":
    asyncio.run(main())
