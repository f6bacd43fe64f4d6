"""``python -m memo``: the ``memo`` command.

The command lives in the ``memo.cli`` package and is imported only here, when
it runs, so ``import memo`` never pulls in the orchestrator or the validators.

``python -m`` puts the working directory first on ``sys.path``. memo runs inside users'
projects, and a project with a ``memo/`` directory (a clone of memo, say) would shadow
memo's own modules, in this process and in its
pool's workers (which start with this ``sys.path``). So the working directory is taken
off ``sys.path`` before anything of memo's is imported, unless memo itself lives there.
"""

from __future__ import annotations

import os
import sys


def _forget_working_directory() -> None:
    """Drop the working directory from ``sys.path``, and a ``memo`` package imported from it."""
    own = os.path.dirname(os.path.realpath(__file__))
    try:
        cwd = os.path.realpath(os.getcwd())
    except OSError:  # the working directory was removed: nothing can be imported from it
        return
    if os.path.dirname(own) == cwd:
        return  # memo's own checkout: its modules are the ones wanted
    sys.path[:] = [entry for entry in sys.path if os.path.realpath(entry or os.curdir) != cwd]
    package = sys.modules.get("memo")
    origin = getattr(package, "__file__", None)
    if package is not None and (origin is None or os.path.dirname(os.path.realpath(origin)) != own):
        # ``python -m memo`` found the working directory's ``memo/`` first (a directory without
        # ``__init__.py`` becomes a namespace package): forget it so ``import memo`` finds ours.
        for name in [name for name in sys.modules if name == "memo" or name.startswith("memo.")]:
            del sys.modules[name]


def main() -> int:
    _forget_working_directory()
    from memo.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    status = main()
    from memo.cli import exit_now

    exit_now(status)
