"""Signed shared entries: only a holder of the private key writes an entry readers accept."""

from __future__ import annotations

import base64
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from memo.signing import (
    KEY_ID_BYTES,
    MAGIC,
    MAX_DEPTH,
    PRIVATE_PREFIX,
    PUBLIC_PREFIX,
    SECRET_ENV,
    SIGNATURE_BYTES,
    SIGNING_KEY_ENV,
    VERIFY_KEYS_ENV,
    KeyConfigError,
    Signer,
    generate,
    key_id,
    public_text,
    signer_from_environment,
    signer_from_text,
)
from tests.remote_support import ATTACKER_KEY, SIGNING_KEY, VERIFY_KEY, attacker, reader, signer

ENTRY = b'[3,"k1",null,"lint",true,null,0.1,[]]'
HEAD = len(MAGIC) + KEY_ID_BYTES + SIGNATURE_BYTES + 1
"""The head of an entry sealed alone: its path to the root is empty (one length byte, 0)."""
BAD_PEM = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"


def test_a_sealed_value_opens_for_its_own_key() -> None:
    writer = signer()
    assert writer.open("k1", writer.seal("k1", ENTRY)) == ENTRY


def test_a_reader_with_the_public_key_opens_the_writers_entries() -> None:
    assert reader().open("k1", signer().seal("k1", ENTRY)) == ENTRY


def test_a_reader_holding_only_public_keys_cannot_sign() -> None:
    only_public = reader()
    assert not only_public.can_sign and signer().can_sign
    with pytest.raises(PermissionError, match=SIGNING_KEY_ENV):
        only_public.seal("k1", ENTRY)


def test_an_entry_signed_by_a_key_the_reader_does_not_accept_is_refused() -> None:
    assert reader().open("k1", attacker().seal("k1", ENTRY)) is None


def test_an_entry_naming_an_accepted_key_but_signed_by_another_is_refused() -> None:
    forged = bytearray(attacker().seal("k1", ENTRY))
    forged[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES] = bytes.fromhex(reader().key_ids[0])
    assert reader().open("k1", bytes(forged)) is None


def test_an_entry_names_the_key_that_signed_it() -> None:
    sealed = signer().seal("k1", ENTRY)
    assert sealed[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES].hex() == reader().key_ids[0]
    assert reader().key_ids == signer().key_ids  # a writer accepts its own entries, under the same id


def test_an_unsigned_value_is_refused() -> None:
    assert reader().open("k1", ENTRY) is None


def test_an_entry_of_the_earlier_hmac_scheme_is_refused() -> None:
    assert reader().open("k1", b"memo-hmac1:" + b"\0" * 32 + ENTRY) is None


def test_a_truncated_value_or_signature_is_refused() -> None:
    sealed = signer().seal("k1", ENTRY)
    for cut in (1, len(MAGIC) + 3, HEAD - 2, HEAD - 1, len(sealed) - 1):
        assert reader().open("k1", sealed[:cut]) is None


def test_a_value_moved_to_another_key_is_refused() -> None:
    assert reader().open("k2", signer().seal("k1", ENTRY)) is None


def test_key_and_value_boundaries_cannot_be_shifted() -> None:
    sealed = signer().seal("ab", b"cd")
    assert reader().open("a", sealed[:HEAD] + b"bcd") is None
    assert reader().open("abc", sealed[:HEAD] + b"d") is None


@pytest.mark.parametrize("where", [len(MAGIC) + KEY_ID_BYTES, HEAD - 2, HEAD - 1, HEAD, -1])
def test_a_changed_byte_anywhere_is_refused(where: int) -> None:
    sealed = bytearray(signer().seal("k1", ENTRY))
    sealed[where] ^= 1
    assert reader().open("k1", bytes(sealed)) is None


def test_a_value_that_is_not_bytes_is_refused() -> None:
    sealed = signer().seal("k1", ENTRY)
    assert reader().open("k1", bytearray(sealed)) is None  # type: ignore[arg-type]


def public_of(private_text: str) -> str:
    """The public key text of a private key text."""
    private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_text[len(PRIVATE_PREFIX) :]))
    return public_text(private.public_key())


def test_several_verify_keys_accept_entries_of_each_while_keys_rotate() -> None:
    old, new = signer(), signer(ATTACKER_KEY)
    both = signer("", f"{VERIFY_KEY},\n {public_of(ATTACKER_KEY)}")
    assert both.key_ids == sorted(old.key_ids + new.key_ids)
    assert both.open("k", old.seal("k", ENTRY)) == ENTRY
    assert both.open("k", new.seal("k", ENTRY)) == ENTRY
    assert reader().open("k", new.seal("k", ENTRY)) is None  # the old reader: not yet


def test_no_key_is_no_signer_and_an_empty_signer_is_refused() -> None:
    assert signer_from_text("", "  ") is None
    with pytest.raises(KeyConfigError, match=VERIFY_KEYS_ENV):
        Signer()


def test_generated_pairs_sign_and_verify_and_are_new_each_time() -> None:
    private, public, kid = generate()
    writer, reading = signer(private), signer("", public)
    assert reading.open("k", writer.seal("k", ENTRY)) == ENTRY
    assert reading.key_ids == [kid] and len(bytes.fromhex(kid)) == KEY_ID_BYTES
    assert generate()[0] != private


def test_pem_keys_are_read_as_openssl_writes_them() -> None:
    private = Ed25519PrivateKey.generate()
    pem_private = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    pem_public = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    writer, reading = signer(pem_private), signer("", pem_public + "\n" + VERIFY_KEY)
    assert reading.open("k", writer.seal("k", ENTRY)) == ENTRY
    assert reading.open("k", signer().seal("k", ENTRY)) == ENTRY
    assert reading.key_ids == sorted([key_id(private.public_key().public_bytes_raw()).hex(), *reader().key_ids])


def test_keys_are_read_from_the_files_the_variables_name(tmp_path: Path) -> None:
    (tmp_path / "writer.key").write_text(SIGNING_KEY + "\n")
    (tmp_path / "readers.pub").write_text(f"{VERIFY_KEY}\n{public_of(ATTACKER_KEY)}\n")
    writer = signer(str(tmp_path / "writer.key"))
    reading = signer("", str(tmp_path / "readers.pub"))
    assert writer.key_ids == signer().key_ids
    assert reading.open("k", attacker().seal("k", ENTRY)) == ENTRY
    assert reading.open("k", writer.seal("k", ENTRY)) == ENTRY


@pytest.mark.parametrize(
    ("signing", "verify", "message"),
    [
        pytest.param("", SIGNING_KEY, "holds a private key", id="private-key-given-to-readers"),
        pytest.param(VERIFY_KEY, "", "holds a public key", id="public-key-given-as-signing-key"),
        pytest.param(PRIVATE_PREFIX + "c2VjcmV0", "", "malformed", id="short-private-key"),
        pytest.param("", PUBLIC_PREFIX + "!!!not-base64!!!", "malformed", id="garbled-public-key"),
        pytest.param("c2VjcmV0LXJhdy1iYXNlNjQta2V5", "", "neither a key", id="unprefixed-text"),
        pytest.param(f"{SIGNING_KEY} {ATTACKER_KEY}", "", "exactly one", id="two-private-keys"),
        pytest.param(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "", "not an unencrypted", id="pem"
        ),
    ],
)
def test_an_unusable_key_is_a_one_line_error_that_never_shows_it(signing: str, verify: str, message: str) -> None:
    with pytest.raises(KeyConfigError, match=message) as raised:
        signer_from_text(signing, verify)
    text = str(raised.value)
    assert "\n" not in text
    for shown in (SIGNING_KEY, "c2VjcmV0", SIGNING_KEY.split(":")[1]):
        assert shown not in text


def test_a_file_that_holds_something_else_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello world\n")
    with pytest.raises(KeyConfigError, match="not a key"):
        signer_from_text("", str(tmp_path / "notes.txt"))


def test_keys_come_from_the_environment_only_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (SIGNING_KEY_ENV, VERIFY_KEYS_ENV, SECRET_ENV):
        monkeypatch.delenv(name, raising=False)
    assert signer_from_environment() is None
    monkeypatch.setenv(VERIFY_KEYS_ENV, VERIFY_KEY)
    reading = signer_from_environment()
    assert reading is not None and not reading.can_sign
    monkeypatch.setenv(SIGNING_KEY_ENV, SIGNING_KEY)
    writing = signer_from_environment()
    assert writing is not None and writing.can_sign
    assert SIGNING_KEY.split(":")[1] not in repr(writing)


def test_the_retired_hmac_secret_is_never_silently_ignored(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in (SIGNING_KEY_ENV, VERIFY_KEYS_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(SECRET_ENV, "the-old-shared-secret")
    with caplog.at_level(logging.WARNING, logger="memo"):
        assert signer_from_environment() is None
    (record,) = caplog.records
    message = record.getMessage()
    assert SECRET_ENV in message and SIGNING_KEY_ENV in message and VERIFY_KEYS_ENV in message
    assert "memo cache keygen" in message and "the-old-shared-secret" not in message


def test_memo_cache_keygen_prints_a_working_pair_as_environment_assignments() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "memo", "cache", "keygen"], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assignments = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert set(assignments) == {SIGNING_KEY_ENV, VERIFY_KEYS_ENV}
    writer = signer(assignments[SIGNING_KEY_ENV])
    reading = signer("", assignments[VERIFY_KEYS_ENV])
    assert reading.open("k", writer.seal("k", ENTRY)) == ENTRY
    assert reading.key_ids[0] in done.stderr


def test_memo_cache_keygen_local_prints_a_local_key() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "memo", "cache", "keygen", "--local"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    name, value = done.stdout.strip().split("=", 1)
    assert name == "VALIDATION_CACHE_LOCAL_KEY" and len(value) == 64 and int(value, 16) >= 0


# -- what the mutation run (mutmut) showed the tests above leave open -----------------------

KNOWN_ENTRY = bytes.fromhex(
    "6d656d6f2d656432353531392d323afd2ef6de48117b407b6a3a216847357f7bda9390e7b25fa35b4f6f7e5fe597e949"
    "992fcfe4eb091984feb0146144523dc5807e6c08d1e02d260e5fc34649cec7f0263c6871b8f805005b315d"
)
"""``seal("k1", b"[1]")`` under the tests' signing key: Ed25519 is deterministic."""


def test_the_entry_format_is_fixed_so_every_version_reads_what_another_wrote() -> None:
    assert signer().seal("k1", b"[1]") == KNOWN_ENTRY
    assert reader().open("k1", KNOWN_ENTRY) == b"[1]"


def test_an_empty_value_and_a_key_with_a_lone_surrogate_are_sealed_too() -> None:
    for key, value in (("k", b""), ("k\udc80", ENTRY)):
        assert reader().open(key, signer().seal(key, value)) == value
    assert reader().open("k\udc81", signer().seal("k\udc80", ENTRY)) is None


def test_a_key_with_a_stray_character_is_refused() -> None:
    body = VERIFY_KEY[len(PUBLIC_PREFIX) :]
    with pytest.raises(KeyConfigError, match="malformed"):
        signer_from_text("", PUBLIC_PREFIX + body[:10] + "!" + body[10:])


def test_pem_keys_and_key_files_combine_in_the_verify_keys(tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate()
    pem = other.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "readers.pub").write_text(VERIFY_KEY + "\n")
    both = signer("", pem.decode() + "\n" + str(tmp_path / "readers.pub"))
    assert len(both.key_ids) == 2 and both.open("k", signer().seal("k", ENTRY)) == ENTRY


@pytest.mark.parametrize(
    ("signing", "verify", "variable", "message"),
    [
        pytest.param(PRIVATE_PREFIX + "c2VjcmV0", "", SIGNING_KEY_ENV, "malformed", id="malformed-private"),
        pytest.param("", PUBLIC_PREFIX + "c2VjcmV0", VERIFY_KEYS_ENV, "malformed", id="malformed-public"),
        pytest.param("/no/such/key", "", SIGNING_KEY_ENV, "memo cache keygen", id="missing-private-file"),
        pytest.param("", "/no/such/keys", VERIFY_KEYS_ENV, "memo cache keygen", id="missing-public-file"),
        pytest.param("", BAD_PEM.replace("PRIVATE", "PUBLIC"), VERIFY_KEYS_ENV, "not an Ed25519", id="bad-pem"),
    ],
)
def test_an_unusable_key_names_the_variable_it_came_from(
    signing: str, verify: str, variable: str, message: str
) -> None:
    with pytest.raises(KeyConfigError) as raised:
        signer_from_text(signing, verify)
    assert str(raised.value).startswith(variable) and message in str(raised.value)
    assert str(raised.value).endswith(("(`memo cache keygen` makes a pair)", "in base64)", "public key"))


def test_a_file_of_something_else_names_the_variable(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(KeyConfigError, match=f"^{VERIFY_KEYS_ENV}: the file holds something that is not a key$"):
        signer_from_text("", str(tmp_path / "notes.txt"))


def test_pem_keys_given_to_the_wrong_side_are_refused_by_name() -> None:
    private = Ed25519PrivateKey.generate()
    pem_private = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    pem_public = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(KeyConfigError, match=f"^{SIGNING_KEY_ENV} holds a public key"):
        signer_from_text(pem_public, "")
    with pytest.raises(KeyConfigError, match=f"^{VERIFY_KEYS_ENV} holds a private key"):
        signer_from_text("", pem_private)


def test_a_pem_key_of_another_algorithm_is_refused() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    pem_public = other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyConfigError, match=f"^{VERIFY_KEYS_ENV}: not an Ed25519 public key$"):
        signer_from_text("", pem_public.decode())


def test_text_defaults_to_no_key_and_a_writer_needs_no_verify_keys() -> None:
    assert signer_from_text() is None
    only_private = signer_from_text(SIGNING_KEY)
    assert only_private is not None and only_private.can_sign


def test_new_keys_alone_log_nothing_and_the_secrets_warning_reads_as_one_memo_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.setenv(SIGNING_KEY_ENV, SIGNING_KEY)
    with caplog.at_level(logging.WARNING, logger="memo"):
        assert signer_from_environment() is not None
    assert caplog.records == []
    monkeypatch.setenv(SECRET_ENV, "old")
    with caplog.at_level(logging.WARNING, logger="memo"):
        signer_from_environment()
    message = caplog.records[0].getMessage()
    assert message.startswith("memo remote cache: ") and message.endswith(f"readers {VERIFY_KEYS_ENV}")


# -- one signature per write batch --------------------------------------------------------

BATCH = [(f"k{i}", f'[3,"k{i}",null,"lint",true,null,0.1,[{i}]]'.encode()) for i in range(7)]


class CountingKey:
    """A public key that counts its verifications (the Rust type cannot be patched)."""

    def __init__(self, text: str = VERIFY_KEY) -> None:
        made = signer("", text)
        (self.inner,) = made._accepted.values()
        self.verified = 0

    def public_bytes_raw(self) -> bytes:
        return self.inner.public_bytes_raw()

    def verify(self, signature: bytes, data: bytes) -> None:
        self.verified += 1
        self.inner.verify(signature, data)


def test_every_entry_of_a_batch_opens_for_its_own_key_only() -> None:
    sealed = signer().seal_many(BATCH)
    reading = reader()
    assert [reading.open(key, entry) for (key, _), entry in zip(BATCH, sealed, strict=True)] == [v for _, v in BATCH]
    for (key, _), entry in zip(BATCH, sealed, strict=True):
        assert all(reading.open(other, entry) is None for other, _ in BATCH if other != key)


def test_a_batch_is_signed_once_and_each_signature_verified_once_per_reader() -> None:
    sealed = signer().seal_many(BATCH)
    heads = {entry[: HEAD - 1] for entry in sealed}
    assert len(heads) == 1  # one signature over the batch
    key = CountingKey()
    reading = Signer(None, [key])  # type: ignore[list-item]
    for _ in range(2):
        assert all(reading.open(k, entry) == v for (k, v), entry in zip(BATCH, sealed, strict=True))
    assert key.verified == 1
    assert reading.open("k0", signer().seal("k0", b"[2]")) == b"[2]" and key.verified == 2


def test_a_value_swapped_between_keys_of_one_batch_is_refused() -> None:
    first, second = signer().seal_many(BATCH[:2])
    value_at = len(first) - len(BATCH[0][1])
    reading = reader()
    assert reading.open("k0", first) == BATCH[0][1]  # the batch's signature is now remembered
    assert reading.open("k0", first[:value_at] + BATCH[1][1]) is None
    assert reading.open("k1", first[:value_at] + BATCH[1][1]) is None
    assert reading.open("k0", second[: len(second) - len(BATCH[1][1])] + BATCH[0][1]) is None


def test_a_verified_batch_signature_replayed_over_other_values_is_refused() -> None:
    entry = signer().seal_many(BATCH)[3]
    reading = reader()
    assert reading.open("k3", entry) == BATCH[3][1]
    path_end = len(entry) - len(BATCH[3][1])
    for value in (b"[]", BATCH[4][1], BATCH[3][1] + b" "):
        assert reading.open("k3", entry[:path_end] + value) is None
    # the signature and key id alone, with a path of the attacker's making: another root, refused
    forged_path = bytes([1, 1]) + b"\0" * 32
    assert reading.open("k3", entry[: HEAD - 1] + forged_path + b"[]") is None


def test_a_path_that_is_changed_cut_or_too_long_is_refused() -> None:
    entry = signer().seal_many(BATCH)[2]
    reading = reader()
    depth = entry[HEAD - 1]
    assert depth == 3  # seven entries: three levels
    path_end = HEAD + depth * 33
    for where in (HEAD, HEAD + 1, HEAD + 32, path_end - 1):
        changed = bytearray(entry)
        changed[where] ^= 1
        assert reading.open("k2", bytes(changed)) is None
    cut = bytearray(entry)
    cut[HEAD - 1] = depth - 1
    assert reading.open("k2", bytes(cut)) is None
    assert reading.open("k2", entry[: HEAD - 1] + bytes([MAX_DEPTH + 1]) + entry[HEAD:]) is None
    side = bytearray(entry)
    side[HEAD] = 2  # neither left nor right
    assert reading.open("k2", bytes(side)) is None
    assert reading.open("k2", entry) == BATCH[2][1]


def test_an_entry_of_another_batch_cannot_borrow_a_verified_signature() -> None:
    ours, theirs = signer().seal_many(BATCH[:2]), attacker().seal_many([BATCH[0], ("k1", b"[9]")])
    reading = reader()
    assert reading.open("k0", ours[0]) == BATCH[0][1]
    mixed = ours[0][: HEAD - 1] + theirs[0][HEAD - 1 :]  # our signature; their path (another tree), same value
    assert reading.open("k0", mixed) is None
    named = bytearray(theirs[1])
    named[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES] = ours[0][len(MAGIC) : len(MAGIC) + KEY_ID_BYTES]
    assert reading.open("k1", bytes(named)) is None


def test_the_remembered_signatures_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("memo.signing.VERIFIED_KEPT", 2)
    key = CountingKey()
    reading = Signer(None, [key])  # type: ignore[list-item]
    entries = [signer().seal("k", f"[{i}]".encode()) for i in range(3)]
    for entry in entries:
        assert reading.open("k", entry) is not None
    assert len(reading._verified) == 1 and key.verified == 3
    assert reading.open("k", entries[2]) is not None and key.verified == 3


def test_an_empty_batch_is_sealed_as_nothing_and_a_reader_cannot_seal_one() -> None:
    assert signer().seal_many([]) == []
    with pytest.raises(PermissionError):
        reader().seal_many(BATCH)
