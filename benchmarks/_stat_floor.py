"""The floor for answering "nothing changed": an interpreter that stats every file under a root.

Run as its own process: ``python _stat_floor.py ROOT``. It starts an interpreter, walks
the tree and stats every file, and does nothing else.
"""

from __future__ import annotations

import os
import sys


def main(root: str) -> int:
    for directory, _subdirs, names in os.walk(root):
        for name in names:
            os.stat(os.path.join(directory, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
