"""Where the cache lives by default: a module of its own, so the fast path finds it without importing the cache."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """``$VALIDATION_CACHE_DIR``, else ``$XDG_CACHE_HOME/validation``, else ``~/.cache/validation``."""
    explicit = os.environ.get("VALIDATION_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "validation"
    return Path.home() / ".cache" / "validation"
