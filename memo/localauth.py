"""Sealed local entries: a MAC under a key that lives outside every cache directory.

Entry keys are computable by anyone with the same tree and tool versions, so an
unauthenticated cache directory would serve whatever was planted in it: a restored CI
cache, a copied directory or a stray process could turn a failing file into a pass. A
local entry is therefore served only if its tag verifies under this machine's local key,
which the cache directory never holds; anything else (planted, copied from a machine
with another key, truncated) opens to None, a miss.

The key: ``$VALIDATION_CACHE_LOCAL_KEY`` when set (CI sets it from a secret, so a cache
directory it restores still hits), else a per-user key file,
``$XDG_CONFIG_HOME/memo/local.key`` (default ``~/.config/memo/local.key``), created
0600 on first use, atomically (``link`` of a fully written file: two processes racing
both end up with the winner's key). A key file that is a link, not ours, or open to
others is refused. When no key can be had, caching still works within the process
under a random key (entries of another run are misses), with one warning: never a
failure.

The MAC is keyed BLAKE2b (``hashlib``; RFC 7693's keyed mode is a MAC by design, no
HMAC construction needed): stdlib only, no ``cryptography``, because this runs on every
local hit and the hit path must not import heavy modules; and BLAKE2b from a keyed state
kept ready (``copy``) costs a fraction of ``hmac.digest``, whose OpenSSL set-up dominates
for values this small (the hit-path benchmark shows it).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

from memo.credentials import LOCAL_KEY_ENV

log = logging.getLogger("memo")


KEY_FILE_NAME = "local.key"
MIN_KEY_CHARS = 32
"""A shorter key is refused: ``memo cache keygen --local`` prints one of 64 hex digits."""
MAX_KEY_FILE_BYTES = 4096

MAGIC = b"memo-local1:"
"""Names the scheme, so an entry sealed otherwise (or never) cannot pass for one of these."""
TAG_BYTES = 32
_HEAD = len(MAGIC) + TAG_BYTES
_PERSON = b"memo-local1"


class LocalSealer:
    """Seals values with a keyed BLAKE2b tag over key and value; opens only those whose tag verifies.

    The same interface as ``memo.signing.Signer`` (``seal``/``open``), so a store wrapper
    (``memo.sealedstore.SealedStore``) can take either.
    """

    __slots__ = ("_keyed", "source")

    def __init__(self, key: bytes, source: str) -> None:
        if not key:
            raise ValueError("a local key must not be empty")
        # Any length of key text in, BLAKE2b's own 64-byte key out.
        mac_key = hashlib.blake2b(bytes(key), digest_size=64, person=b"memo-local-key").digest()
        self._keyed = hashlib.blake2b(key=mac_key, digest_size=TAG_BYTES, person=_PERSON)
        self.source = source
        """Where the key came from (the variable's name, a file's path, or "this process only")."""

    def _tag(self, key: str, value: bytes) -> bytes:
        key_bytes = key.encode(errors="surrogatepass")
        mac = self._keyed.copy()
        # Length-prefixed key, so no two key/value splits of the same bytes tag alike.
        mac.update(len(key_bytes).to_bytes(4, "big") + key_bytes)
        mac.update(value)
        return mac.digest()

    def seal(self, key: str, value: bytes) -> bytes:
        """``value`` with the scheme and its tag in front: the bytes to store under ``key``."""
        return MAGIC + self._tag(key, value) + value

    def open(self, key: str, sealed: bytes) -> bytes | None:
        """The value sealed in ``sealed`` for ``key``; None if unsealed, truncated, moved or forged."""
        if type(sealed) is not bytes or not sealed.startswith(MAGIC) or len(sealed) < _HEAD:
            return None
        value = sealed[_HEAD:]
        if not hmac.compare_digest(sealed[len(MAGIC) : _HEAD], self._tag(key, value)):
            return None
        return value

    def __repr__(self) -> str:
        return f"LocalSealer(<key from {self.source}>)"


def key_file() -> Path:
    """``$XDG_CONFIG_HOME/memo/local.key``, else ``~/.config/memo/local.key``."""
    config = os.environ.get("XDG_CONFIG_HOME")
    base = Path(config).expanduser() if config else Path.home() / ".config"
    return base / "memo" / KEY_FILE_NAME


def new_key_text() -> str:
    """A fresh random local key, as text (64 hex digits)."""
    return secrets.token_hex(32)


class _NoKeyError(Exception):
    """The key file cannot be created or read; the message says why."""


def _check_key_text(text: str, source: str) -> bytes:
    key = text.strip()
    if len(key) < MIN_KEY_CHARS:
        raise _NoKeyError(
            f"{source} holds {len(key)} characters, fewer than {MIN_KEY_CHARS} "
            "(`memo cache keygen --local` prints a key)"
        )
    return key.encode()


def _read_key_file(path: Path) -> bytes:
    """The key in ``path``; ``FileNotFoundError`` if there is none, ``_NoKeyError`` if it cannot be trusted."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _NoKeyError(f"{path} is not a regular file")
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise _NoKeyError(f"{path} belongs to another user")
        if info.st_mode & 0o077:
            raise _NoKeyError(f"{path} is open to other users (chmod 600 {path})")
        data = os.read(fd, MAX_KEY_FILE_BYTES)
    finally:
        os.close(fd)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise _NoKeyError(f"{path} does not hold a key") from None
    return _check_key_text(text, str(path))


def _create_key_file(path: Path) -> None:
    """Write a new key to ``path`` unless one appears there first; the loser of a race keeps the winner's."""
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = directory / f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        try:
            os.write(fd, (new_key_text() + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)  # atomic, and never replaces a key another process made
    finally:
        with contextlib.suppress(OSError):
            os.unlink(draft)


def _file_key(path: Path) -> bytes:
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        _create_key_file(path)
        return _read_key_file(path)


_sealers: dict[tuple[str, str], LocalSealer] = {}


def local_sealer() -> LocalSealer:
    """The sealer for this machine's local entries (see the module's docstring). Never raises.

    One per key source per process, so a fallback warns once.
    """
    env_key = os.environ.get(LOCAL_KEY_ENV)
    if env_key is not None and env_key.strip():
        source = (LOCAL_KEY_ENV, env_key)
        found = _sealers.get(source)
        if found is None:
            try:
                found = LocalSealer(_check_key_text(env_key, LOCAL_KEY_ENV), LOCAL_KEY_ENV)
            except _NoKeyError as exc:
                found = _fallback(str(exc))
            _sealers[source] = found
        return found
    path = key_file()
    source = ("file", str(path))
    found = _sealers.get(source)
    if found is None:
        try:
            found = LocalSealer(_file_key(path), str(path))
        except (OSError, _NoKeyError) as exc:
            found = _fallback(str(exc) if isinstance(exc, _NoKeyError) else f"cannot use {path}: {exc}")
        _sealers[source] = found
    return found


def _fallback(reason: str) -> LocalSealer:
    log.warning(
        "memo cache: no local key (%s); entries are sealed for this process only, so earlier runs' entries "
        "are misses (set %s, or fix the key file)",
        reason,
        LOCAL_KEY_ENV,
    )
    return LocalSealer(secrets.token_bytes(32), "this process only")
