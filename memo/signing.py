"""Signed entries for a shared cache: Ed25519, so that readers cannot write.

A shared cache is read by machines that run code nobody has reviewed (a pull request's
CI job, a checkout's own validators). With one symmetric secret, whoever can verify an
entry can also make one; so writers hold a private key (``$VALIDATION_CACHE_SIGNING_KEY``,
main-branch CI) and readers only public keys (``$VALIDATION_CACHE_VERIFY_KEYS``): a job
holding only public keys cannot make an entry anyone accepts, whatever code runs in it.

An entry names the key that signed it (a key id: the first 8 bytes of the SHA-256 of the
raw public key), so several public keys can be accepted at once while keys rotate.

One signature covers a whole write batch. An Ed25519 verification holds the GIL for about
as long as the rest of a shared hit costs, so a run served by the shared tier would spend
most of its time verifying if each entry carried its own signature. Instead the writer
builds a hash tree (SHA-256, RFC 6962's domain separation: ``0x00`` before a leaf, ``0x01``
before a node) over the entries it sends together, signs the root once, and stores with
each entry the signature and the entry's path to the root. A leaf hashes the entry's key
(length-prefixed, so no two key/value splits hash alike) and every byte of its value. A
reader hashes the entry up its path and verifies the root's signature, once per batch: a
signature it has verified is remembered (``Signer`` keeps a bounded set), so the other
entries of that batch cost only their hashes. Each entry stays self-contained: no record
beside it that could go missing, and an entry is served only if an accepted key signed a
root that exactly its key and value hash up to. A missing, truncated, forged, moved or
unknown-key entry, or one whose path leads elsewhere, is a miss; its value is never decoded.

The stored form: ``MAGIC``, the key id (8 bytes), the root's signature (64), the path's
length (1 byte, at most ``MAX_DEPTH``), each step as a side byte (1: the sibling is on the
right, 0: on the left) and the sibling's hash (32), then the value.

The cryptography comes from ``cryptography`` (installed with ``memo-validators[redis]``),
imported only when keys are read, so a run without a shared tier never loads it.

Key text, as an environment value: memo's one-line form (``memo-ed25519-private:`` or
``memo-ed25519-public:`` then the 32 raw key bytes in base64; ``memo cache keygen``
prints a pair), or PEM (as ``openssl genpkey -algorithm ed25519`` writes), or the path of
a file holding either. ``$VALIDATION_CACHE_VERIFY_KEYS`` takes several, separated by
commas, spaces or newlines. ``$VALIDATION_CACHE_SECRET`` (the earlier HMAC mode) is no
longer read: a warning says what to set instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from memo.credentials import SECRET_ENV, SIGNING_KEY_ENV, VERIFY_KEYS_ENV

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger("memo")


PRIVATE_PREFIX = "memo-ed25519-private:"
PUBLIC_PREFIX = "memo-ed25519-public:"

MAGIC = b"memo-ed25519-2:"
"""Names the signing scheme, so another scheme (the earlier per-entry or HMAC one) is never mistaken for this one."""
KEY_ID_BYTES = 8
SIGNATURE_BYTES = 64
RAW_KEY_BYTES = 32
HASH_BYTES = 32
MAX_DEPTH = 32
"""Longest path a reader follows: a batch of 2**32 entries; a longer claim is a forgery."""
_HEAD = len(MAGIC) + KEY_ID_BYTES + SIGNATURE_BYTES
_STEP = 1 + HASH_BYTES
_LEAF, _NODE = b"\x00", b"\x01"
_RIGHT, _LEFT = 1, 0
VERIFIED_KEPT = 4096
"""Verified batch signatures remembered; past this the set starts afresh (a few re-verifications)."""
MAX_KEY_FILE_BYTES = 64 * 1024

_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.S)


class KeyConfigError(ValueError):
    """A key in the environment cannot be used; the message names the variable, never the key."""


def key_id(public_raw: bytes) -> bytes:
    """The id an entry names its signing key by: the first 8 bytes of SHA-256 of the raw public key."""
    return hashlib.sha256(public_raw).digest()[:KEY_ID_BYTES]


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes_raw()


def _leaf(key: str, value: bytes) -> bytes:
    key_bytes = key.encode(errors="surrogatepass")
    return hashlib.sha256(_LEAF + len(key_bytes).to_bytes(4, "big") + key_bytes + value).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def _tree(leaves: Sequence[bytes]) -> tuple[bytes, list[bytes]]:
    """The root over ``leaves`` and each leaf's encoded path to it (an odd node is carried up unpaired)."""
    paths = [bytearray() for _ in leaves]
    level = [(leaf, [index]) for index, leaf in enumerate(leaves)]
    while len(level) > 1:
        above = []
        for at in range(0, len(level) - 1, 2):
            (left, under_left), (right, under_right) = level[at], level[at + 1]
            for index in under_left:
                paths[index] += bytes([_RIGHT]) + right
            for index in under_right:
                paths[index] += bytes([_LEFT]) + left
            above.append((_node(left, right), under_left + under_right))
        if len(level) % 2:
            above.append(level[-1])
        level = above
    return level[0][0], [bytes([len(path) // _STEP]) + path for path in paths]


class Signer:
    """Signs batches of entries with a private key (if it holds one); opens entries signed by any accepted key.

    ``seal(key, value)`` and ``open(key, sealed)``, as ``memo.localauth.LocalSealer``;
    ``seal_many`` signs a batch once.
    """

    __slots__ = ("_accepted", "_kid", "_private", "_verified")

    def __init__(
        self, signing_key: Ed25519PrivateKey | None = None, verify_keys: Iterable[Ed25519PublicKey] = ()
    ) -> None:
        self._private = signing_key
        self._accepted: dict[bytes, Ed25519PublicKey] = {}
        self._kid = b""
        self._verified: set[bytes] = set()
        """Key id, root and signature of each batch signature already verified (the bytes as stored)."""
        if signing_key is not None:
            public = signing_key.public_key()
            self._kid = key_id(_raw_public(public))
            self._accepted[self._kid] = public  # a writer reads its own entries
        for public in verify_keys:
            self._accepted[key_id(_raw_public(public))] = public
        if not self._accepted:
            raise KeyConfigError(f"no key: set {SIGNING_KEY_ENV} (writers) or {VERIFY_KEYS_ENV} (readers)")

    @property
    def can_sign(self) -> bool:
        """Whether this signer holds a private key (only then may the tier write)."""
        return self._private is not None

    @property
    def key_ids(self) -> list[str]:
        """The ids (hex) of the keys whose entries ``open`` accepts."""
        return sorted(kid.hex() for kid in self._accepted)

    def seal(self, key: str, value: bytes) -> bytes:
        """``value`` with the scheme, the signing key's id and its signature in front (a batch of one).

        ``PermissionError`` for a signer holding public keys only: it cannot sign.
        """
        return self.seal_many([(key, value)])[0]

    def seal_many(self, entries: Sequence[tuple[str, bytes]]) -> list[bytes]:
        """Each ``(key, value)`` sealed, in order, under one signature over the batch's hash tree.

        ``PermissionError`` for a signer holding public keys only: it cannot sign.
        """
        private = self._private
        if private is None:
            raise PermissionError(f"cannot sign shared entries without {SIGNING_KEY_ENV}")
        if not entries:
            return []
        root, paths = _tree([_leaf(key, value) for key, value in entries])
        head = MAGIC + self._kid + private.sign(MAGIC + self._kid + root)
        return [head + path + value for path, (_, value) in zip(paths, entries, strict=True)]

    def open(self, key: str, sealed: bytes) -> bytes | None:
        """The value in ``sealed`` for ``key`` if an accepted key signed a batch holding it; None if not."""
        from cryptography.exceptions import InvalidSignature

        if type(sealed) is not bytes or len(sealed) <= _HEAD or not sealed.startswith(MAGIC):
            return None
        kid = sealed[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES]
        public = self._accepted.get(kid)
        depth = sealed[_HEAD]
        start = _HEAD + 1 + depth * _STEP
        if public is None or depth > MAX_DEPTH or len(sealed) < start:
            return None
        value = sealed[start:]
        digest = _leaf(key, value)
        for at in range(_HEAD + 1, start, _STEP):
            side, sibling = sealed[at], sealed[at + 1 : at + _STEP]
            if side == _RIGHT:
                digest = _node(digest, sibling)
            elif side == _LEFT:
                digest = _node(sibling, digest)
            else:
                return None
        signed = MAGIC + kid + digest
        seen = signed + sealed[len(MAGIC) + KEY_ID_BYTES : _HEAD]
        if seen in self._verified:
            return value
        try:
            public.verify(sealed[len(MAGIC) + KEY_ID_BYTES : _HEAD], signed)
        except InvalidSignature:
            return None
        if len(self._verified) >= VERIFIED_KEPT:
            self._verified.clear()
        self._verified.add(seen)
        return value

    def __repr__(self) -> str:
        return f"Signer(can_sign={self.can_sign}, accepts={self.key_ids})"


def generate() -> tuple[str, str, str]:
    """A new key pair as memo's key text, and the id entries will name it by: (private, public, id in hex)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    return private_text(private), public_text(public), key_id(_raw_public(public)).hex()


def private_text(private: Ed25519PrivateKey) -> str:
    """``private`` as memo's one-line key text."""
    return PRIVATE_PREFIX + base64.b64encode(private.private_bytes_raw()).decode("ascii")


def public_text(public: Ed25519PublicKey) -> str:
    """``public`` as memo's one-line key text."""
    return PUBLIC_PREFIX + base64.b64encode(_raw_public(public)).decode("ascii")


def _raw(token: str, prefix: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(token[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != RAW_KEY_BYTES:
        raise KeyConfigError(f"{where}: a malformed key ({prefix} must be followed by 32 bytes in base64)")
    return raw


def _texts(value: str, where: str, *, files: bool = True) -> list[str]:
    """The key texts in ``value``: PEM blocks, memo's one-line keys, and the contents of named files."""
    found = [match.group(0) for match in _PEM.finditer(value)]
    for token in _PEM.sub(" ", value).replace(",", " ").split():
        if token.startswith((PRIVATE_PREFIX, PUBLIC_PREFIX)):
            found.append(token)
        elif files:
            found += _texts(_read_file(token, where), where, files=False)
        else:
            raise KeyConfigError(f"{where}: the file holds something that is not a key")
    return found


def _read_file(token: str, where: str) -> str:
    path = Path(token).expanduser()
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES)
        return data.decode("ascii")
    except (OSError, UnicodeDecodeError, ValueError):
        # The token is not echoed: it may be a key pasted in a form memo does not read.
        raise KeyConfigError(
            f"{where} is neither a key (memo-ed25519-...: or PEM) nor the path of a readable key file "
            "(`memo cache keygen` makes a pair)"
        ) from None


def _private_key(text: str, where: str) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if text.startswith(PUBLIC_PREFIX) or "PUBLIC KEY" in text:
        raise KeyConfigError(f"{where} holds a public key; a writer needs the private one")
    if text.startswith(PRIVATE_PREFIX):
        return Ed25519PrivateKey.from_private_bytes(_raw(text, PRIVATE_PREFIX, where))
    try:
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyConfigError(f"{where}: not an unencrypted Ed25519 private key")
    return key


def _public_key(text: str, where: str) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if text.startswith(PRIVATE_PREFIX) or "PRIVATE KEY" in text:
        raise KeyConfigError(f"{where} holds a private key: give readers only public keys (never the writer's secret)")
    if text.startswith(PUBLIC_PREFIX):
        return Ed25519PublicKey.from_public_bytes(_raw(text, PUBLIC_PREFIX, where))
    try:
        key = serialization.load_pem_public_key(text.encode("ascii"))
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyConfigError(f"{where}: not an Ed25519 public key")
    return key


def signer_from_environment() -> Signer | None:
    """A signer for ``$VALIDATION_CACHE_SIGNING_KEY`` and ``$VALIDATION_CACHE_VERIFY_KEYS``; None if both unset.

    ``KeyConfigError`` (a ``ValueError``, one line, never showing a key) for a key that cannot
    be used. A set ``$VALIDATION_CACHE_SECRET`` is warned about, never silently ignored.
    """
    if os.environ.get(SECRET_ENV, "").strip():
        log.warning(
            "memo remote cache: %s is no longer read (anyone who could verify with it could sign); "
            "run `memo cache keygen`, give writers %s and readers %s",
            SECRET_ENV,
            SIGNING_KEY_ENV,
            VERIFY_KEYS_ENV,
        )
    return signer_from_text(os.environ.get(SIGNING_KEY_ENV, ""), os.environ.get(VERIFY_KEYS_ENV, ""))


def signer_from_text(signing: str = "", verify: str = "") -> Signer | None:
    """A signer for key text in the forms the environment takes (module docstring); None if both are blank.

    ``signing``: one private key (or a file holding it); ``verify``: public keys (or files).
    ``KeyConfigError`` for a key that cannot be used.
    """
    signing, verify = signing.strip(), verify.strip()
    if not signing and not verify:
        return None
    private = None
    if signing:
        texts = _texts(signing, SIGNING_KEY_ENV)
        if len(texts) != 1:
            raise KeyConfigError(f"{SIGNING_KEY_ENV} must hold exactly one private key, not {len(texts)}")
        private = _private_key(texts[0], SIGNING_KEY_ENV)
    publics = [_public_key(text, VERIFY_KEYS_ENV) for text in _texts(verify, VERIFY_KEYS_ENV)] if verify else []
    return Signer(private, publics)
