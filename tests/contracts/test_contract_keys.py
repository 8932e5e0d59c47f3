"""Ed25519 keys on disk: 0600 private keys, JWK/PEM round trips, refusals."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from hub.contracts.keys import (
    generate_key,
    load_private_key,
    load_public_key,
    new_key_files,
    public_jwk,
    public_key_from_jwk,
    public_pem,
)
from hub.errors import ContractError


def test_new_key_files_private_key_is_0600_and_halves_match(tmp_path: Path) -> None:
    files = new_key_files(tmp_path / "keys", "wj-2025")
    assert stat.S_IMODE(files.private.stat().st_mode) == 0o600
    private = load_private_key(files.private)
    message = b"payload"
    signature = private.sign(message)
    load_public_key(files.public_jwk).verify(signature, message)
    load_public_key(files.public_pem).verify(signature, message)
    jwk = json.loads(files.public_jwk.read_text())
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["kid"] == "wj-2025"
    assert "d" not in jwk


def test_never_overwrites_a_private_key(tmp_path: Path) -> None:
    new_key_files(tmp_path, "k")
    with pytest.raises(ContractError, match="refusing to overwrite"):
        new_key_files(tmp_path, "k")


def test_kid_cannot_escape_directory(tmp_path: Path) -> None:
    with pytest.raises(ContractError):
        new_key_files(tmp_path, "../evil")


def test_jwk_round_trip_is_rfc8037_shape() -> None:
    key = generate_key()
    jwk = public_jwk(key)
    assert set(jwk) == {"kty", "crv", "x"} and len(jwk["x"]) == 43  # 32 bytes, unpadded
    assert public_pem(public_key_from_jwk(jwk)) == public_pem(key)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "P-256", "x": "AAAA"},
        {"kty": "OKP", "crv": "X25519", "x": "A" * 43},
        {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"},
        {"kty": "OKP", "crv": "Ed25519", "x": "A" * 43, "d": "A" * 43},
    ],
)
def test_bad_jwks_refused(jwk: dict[str, str]) -> None:
    with pytest.raises(ContractError):
        public_key_from_jwk(jwk)


def test_non_ed25519_pem_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    ec = generate_private_key(SECP256R1())
    path = tmp_path / "ec.pem"
    path.write_bytes(ec.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(ContractError, match="not an Ed25519"):
        load_public_key(path)
