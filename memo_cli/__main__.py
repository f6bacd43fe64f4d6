"""``python -m memo.cli``: the ``memo`` command."""

from __future__ import annotations

from memo.cli import exit_now, main

if __name__ == "__main__":
    exit_now(main())
