"""``python -m memo_cli``: the ``memo`` command."""

from __future__ import annotations

from memo_cli import exit_now, main

if __name__ == "__main__":
    exit_now(main())
