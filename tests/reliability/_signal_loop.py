"""Measure Ctrl-C and SIGTERM on cold runs (not part of the suite): how many end cleanly within 2 s.

    python -m tests.reliability._signal_loop SIGINT 30 [--group] [--after 3]

Each round starts ``python -m memo run`` on a fresh cache over copies of the largest
standard library modules, sends the signal after ``--after`` seconds, and counts the
round clean if memo exited within 2 s with 128 + the signal, wrote exactly
"memo: interrupted", and left no process (in its session, or among its descendants).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.reliability.test_signals import _descendants, _in_session, _still_alive, _tree

GOAL_S = 2.0


def one_round(signum: int, group: bool, after: float) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory(prefix="memo-signal-loop-") as scratch:
        root = Path(scratch)
        memo = subprocess.Popen(
            [sys.executable, "-m", "memo", "run", str(_tree(root)), "--cache-dir", str(root / "cache")],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        time.sleep(after)
        children = _descendants(memo.pid)
        sent = time.monotonic()
        (os.killpg if group else os.kill)(memo.pid, signum)
        try:
            _, stderr = memo.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(memo.pid, signal.SIGKILL)
            _, stderr = memo.communicate()
        took = time.monotonic() - sent
        left = _still_alive(children) + _in_session(memo.pid)
        text = stderr.decode(errors="replace")
        clean = took <= GOAL_S and memo.returncode == 128 + signum and text == "memo: interrupted\n" and not left
        return clean, f"exit {memo.returncode} after {took:.2f} s, stderr {text!r:.300}, left {left}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("signal", choices=("SIGINT", "SIGTERM"))
    parser.add_argument("rounds", type=int)
    parser.add_argument("--group", action="store_true", help="signal memo's process group, not its pid")
    parser.add_argument("--after", type=float, default=3.0, help="seconds into the run (default 3)")
    args = parser.parse_args()
    clean = 0
    for number in range(args.rounds):
        ok, detail = one_round(getattr(signal, args.signal), args.group, args.after)
        clean += ok
        print(f"{number}: {'clean' if ok else 'NOT CLEAN'}: {detail}", flush=True)
    target = "group" if args.group else "pid"
    print(f"{args.signal} to the {target}: {clean}/{args.rounds} clean within {GOAL_S:g} s, no process left")


if __name__ == "__main__":
    main()
