"""One "machine" for the shared-tier tests: its own local cache directory, one shared Redis.

``python tests/_remote_machine.py ROOT CACHE_DIR URL LOG [--hold] [--lease-ms N] [--mode M]``
validates every ``*.py`` under ROOT with a validator that appends one line to LOG each
time its body runs (so tests count checks executed across processes), and prints the
results and the cache's stats as JSON. ``--hold`` makes the body wait until the process
is killed, for the lease-holder tests.
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
from memo.remote import RemoteTier
from memo.validators import Validator
from tests.helpers import append_line, todo_result
from tests.remote_support import signer


class MachineValidator(Validator):
    """Flags lines with "TODO"; logs every run of its body."""

    dimension: ClassVar[str] = "todos"
    version: ClassVar[str] = "1"
    log: ClassVar[str] = ""
    hold: ClassVar[bool] = False

    @cached_validation(dimension="todos")
    async def validate(self) -> ValidationResult:
        assert self.file_path is not None
        append_line(type(self).log, f"{os.getpid()} {self.file_path.name}\n")
        if type(self).hold:
            await asyncio.sleep(600)  # until the test kills this process
        return todo_result(self.file_path)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("cache_dir")
    parser.add_argument("url")
    parser.add_argument("log")
    parser.add_argument("--hold", action="store_true")
    parser.add_argument("--lease-ms", type=int, default=30_000)
    parser.add_argument("--mode", default="read-write")
    args = parser.parse_args()
    MachineValidator.log = args.log
    MachineValidator.hold = args.hold
    root = Path(args.root)
    tier = RemoteTier(args.url, signer(), mode=args.mode, lease=LeasePolicy(ttl_ms=args.lease_ms, wait_s=60))
    with ValidationCache(args.cache_dir, remote=tier) as cache, bind_cache(cache, root=root):
        files = sorted(root.rglob("*.py"))
        results = await asyncio.gather(*(MachineValidator(path, {}, root).validate() for path in files))
        report = [[r.file_path and Path(r.file_path).name, r.passed, [f.line for f in r.findings]] for r in results]
        stats = cache.stats()
    print(json.dumps({"results": report, "stats": stats}))


if __name__ == "__main__":
    asyncio.run(main())
