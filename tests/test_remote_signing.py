"""Signed entries: only a holder of the secret can write an entry this machine will trust."""

from __future__ import annotations

import pytest

from memo.signing import MAGIC, SECRET_ENV, Signer, signer_from_environment


def test_a_sealed_value_opens_for_its_own_key() -> None:
    signer = Signer("s3cret")
    assert signer.open("k1", signer.seal("k1", b"[1,2]")) == b"[1,2]"


def test_a_value_sealed_with_another_secret_is_refused() -> None:
    forged = Signer("attacker").seal("k1", b"[1,2]")
    assert Signer("s3cret").open("k1", forged) is None


def test_an_unsigned_value_is_refused() -> None:
    assert Signer("s3cret").open("k1", b'[3,"k1",null,"lint",true,null,0.1,[]]') is None


def test_a_truncated_value_or_tag_is_refused() -> None:
    signer = Signer("s3cret")
    sealed = signer.seal("k1", b"[1,2,3]")
    for cut in (1, 5, len(sealed) - 8, len(MAGIC) + 3):
        assert signer.open("k1", sealed[:cut]) is None


def test_a_value_moved_to_another_key_is_refused() -> None:
    signer = Signer("s3cret")
    assert signer.open("k2", signer.seal("k1", b"[1]")) is None


def test_key_and_value_boundaries_cannot_be_shifted() -> None:
    signer = Signer("s3cret")
    sealed = signer.seal("ab", b"cd")
    tag = sealed[len(MAGIC) : len(MAGIC) + 32]
    assert signer.open("a", MAGIC + tag + b"bcd") is None


def test_a_changed_byte_is_refused() -> None:
    signer = Signer("s3cret")
    sealed = bytearray(signer.seal("k1", b'{"passed":false}'))
    sealed[-3] ^= 1
    assert signer.open("k1", bytes(sealed)) is None


def test_a_blank_secret_is_rejected() -> None:
    with pytest.raises(ValueError, match=SECRET_ENV):
        Signer("  ")


def test_the_secret_comes_from_the_environment_only_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    assert signer_from_environment() is None
    monkeypatch.setenv(SECRET_ENV, "x")
    signer = signer_from_environment()
    assert signer is not None and "x" not in repr(signer)
