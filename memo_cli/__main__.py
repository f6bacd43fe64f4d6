"""``python -m memo_cli``: the ``memo`` command."""

from __future__ import annotations

import sys

from memo_cli import main

if __name__ == "__main__":
    sys.exit(main())
