"""One depth-first walk of a directory tree, for every part of memo that lists directories.

Discovery (the files to check), the run manifest's recording (the listings a run stands
on) and the tools' file sets (the directories ruff walked) walk a tree the same way:
depth first, links to directories never followed (no loops), an unreadable directory
seen but empty. Each says only which subdirectories to go into and what to make of the
entries, so the walk itself, and what it does on an error, is written once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator


def directories(top: str, descend: Callable[[os.DirEntry[str]], bool]) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    """``(directory, its entries)`` for ``top`` and each subdirectory ``descend`` admits, depth first.

    A link to a directory is never descended into; an unreadable directory comes with no
    entries; an entry whose type cannot be read (it vanished, say) is not descended into.
    ``descend`` is asked after the caller has seen the directory's entries.
    """
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as scan:
                entries = list(scan)
        except OSError:
            entries = []
        yield directory, entries
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False) and descend(entry):
                    stack.append(entry.path)
            except OSError:
                continue
