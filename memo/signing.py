"""Signed entries for a shared cache: HMAC-SHA256 over the key and the value.

A shared cache is written by many machines, some of which run code nobody has reviewed
(a pull request's CI job). An entry is trusted only if it was written by a holder of the
team's secret, for exactly this key: the tag covers the key (length-prefixed, so no two
key/value splits sign alike) and every byte of the value. A missing, truncated or forged
tag is a miss; the value is then never decoded, let alone stored or executed.
"""

from __future__ import annotations

import hashlib
import hmac
import os

SECRET_ENV = "VALIDATION_CACHE_SECRET"  # nosec B105 - the name of an environment variable, not a secret
"""The environment variable holding the signing secret; there is no unsigned mode."""

MAGIC = b"memo-hmac1:"
"""Names the signing scheme, so a later scheme can never be mistaken for this one."""

TAG_BYTES = hashlib.sha256().digest_size


class Signer:
    """Seals values with an HMAC tag and opens only values whose tag verifies."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes | str) -> None:
        raw = secret.encode() if isinstance(secret, str) else bytes(secret)
        if not raw.strip():
            raise ValueError(f"{SECRET_ENV} must not be empty")
        self._secret = raw

    def _tag(self, key: str, value: bytes) -> bytes:
        key_bytes = key.encode()
        mac = hmac.new(self._secret, len(key_bytes).to_bytes(4, "big"), hashlib.sha256)
        mac.update(key_bytes)
        mac.update(value)
        return mac.digest()

    def seal(self, key: str, value: bytes) -> bytes:
        """``value`` with its scheme and tag in front: the bytes to store under ``key``."""
        return MAGIC + self._tag(key, value) + value

    def open(self, key: str, sealed: bytes) -> bytes | None:
        """The value sealed in ``sealed`` for ``key``, or None if it is unsigned, truncated or forged."""
        head = len(MAGIC) + TAG_BYTES
        if type(sealed) is not bytes or len(sealed) < head or not sealed.startswith(MAGIC):
            return None
        tag, value = sealed[len(MAGIC) : head], sealed[head:]
        if not hmac.compare_digest(tag, self._tag(key, value)):
            return None
        return value

    def __repr__(self) -> str:
        return "Signer(<secret>)"


def signer_from_environment() -> Signer | None:
    """A signer for ``$VALIDATION_CACHE_SECRET``, or None when it is unset or blank."""
    secret = os.environ.get(SECRET_ENV, "")
    return Signer(secret) if secret.strip() else None
