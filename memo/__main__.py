"""``python -m memo``: the ``memo`` command.

The command lives in the top-level ``memo_cli`` module and is imported only here, when
it runs, so ``import memo`` never pulls in the orchestrator or the validators.
"""

from __future__ import annotations

import sys


def main() -> int:
    from memo_cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
