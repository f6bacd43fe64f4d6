"""TOML parsing on every Python memo supports: the standard library's ``tomllib``, else ``tomli``.

Python 3.10 has no ``tomllib``; ``tomli`` is the same parser under another name (it became
``tomllib``), installed there by memo's dependencies. One module chooses, by trying the
import, so the 3.10 path is a single place that a test can force on a newer Python
(``sys.modules["tomllib"] = None``) and so prove.
"""

from __future__ import annotations

try:
    import tomllib  # type: ignore[import-not-found, unused-ignore]  # mypy checks as 3.10, which has none
except ImportError:  # Python 3.10 (or forced by a test)
    import tomli as tomllib  # type: ignore[no-redef, unused-ignore]

__all__ = ["tomllib"]
