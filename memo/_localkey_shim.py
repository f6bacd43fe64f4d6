"""SHIM until branch ``signing`` merges: the local sealer for manifests, keyed as ``memo.localauth`` keys.

At merge, replace ``local_sealer`` below with ``from memo.localauth import local_sealer``
(one line in ``memo.cli.fastpath``); the key source is the same: ``$VALIDATION_CACHE_LOCAL_KEY``
when set, else a per-user 0600 key file outside every cache directory,
``$XDG_CONFIG_HOME/memo/local.key`` (default ``~/.config/memo/local.key``), created on
first use with ``link`` of a fully written file so racing processes agree on one key.
Without a usable key, a random one for this process only: manifests are then misses.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from memo.signing import Signer

LOCAL_KEY_ENV = "VALIDATION_CACHE_LOCAL_KEY"
MIN_KEY_CHARS = 32


def _key_file() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME")
    base = Path(config).expanduser() if config else Path.home() / ".config"
    return base / "memo" / "local.key"


def _read(path: Path) -> bytes | None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            return None
        key = os.read(fd, 4096).strip()
    finally:
        os.close(fd)
    return key if len(key) >= MIN_KEY_CHARS else None


def _create(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = path.parent / f".local.key.{os.getpid()}.{os.urandom(4).hex()}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        try:
            os.write(fd, (os.urandom(32).hex() + "\n").encode("ascii"))
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(draft)


_sealers: dict[str, Signer] = {}


def local_sealer() -> Signer:
    """A sealer under this machine's local key (see the module docstring). Never raises."""
    env_key = os.environ.get(LOCAL_KEY_ENV, "").strip()
    source = f"env:{env_key}" if env_key else f"file:{_key_file()}"
    found = _sealers.get(source)
    if found is not None:
        return found
    key: bytes | None = None
    if env_key:
        key = env_key.encode() if len(env_key) >= MIN_KEY_CHARS else None
    else:
        path = _key_file()
        try:
            try:
                key = _read(path)
            except FileNotFoundError:
                _create(path)
                key = _read(path)
        except OSError:
            key = None
    found = _sealers[source] = Signer(key if key is not None else os.urandom(32))
    return found
