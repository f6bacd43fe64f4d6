"""The floor for a Python tool answering "nothing changed": stat every file, one diskcache get per key.

Run as its own process by the whole-command benchmark: ``python _floor.py ROOT CACHE_DIR
KEYS_FILE``. It starts an interpreter, imports diskcache, walks and stats the tree and
reads every stored entry by its key (given, not derived), and does nothing else.
"""

from __future__ import annotations

import os
import sys

import diskcache


def main(root: str, cache_dir: str, keys_file: str) -> int:
    for directory, _subdirs, names in os.walk(root):
        for name in names:
            os.stat(os.path.join(directory, name))
    with open(keys_file, encoding="utf-8") as handle:
        keys = handle.read().split()
    found = 0
    with diskcache.Cache(cache_dir) as cache:
        for key in keys:
            found += cache.get(key) is not None
    print(found)
    return 0 if found == len(keys) else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
