"""Ed25519 keys: generation, PEM and JWK (RFC 8037 OKP) forms, private keys on disk at 0600.

A party's private key never leaves the party: the hub only ever loads public keys from the
registry, and its own private key to sign registries, registrar signatures and checkpoints.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.canonical_json import b64url, b64url_decode
from hub.errors import ContractError
from hub.party_token import load_private_key

__all__ = [
    "generate_key",
    "public_jwk",
    "public_key_from_jwk",
    "private_pem",
    "public_pem",
    "write_private_key",
    "load_private_key",
    "load_public_key",
    "KeyFiles",
    "new_key_files",
]


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_jwk(key: Ed25519PublicKey | Ed25519PrivateKey, kid: str | None = None) -> dict[str, str]:
    """RFC 8037 JWK of the public half: {"kty": "OKP", "crv": "Ed25519", "x": ...}."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(_raw_public(public))}
    if kid is not None:
        jwk["kid"] = kid
    return jwk


def public_key_from_jwk(jwk: Any) -> Ed25519PublicKey:
    """Decode an OKP/Ed25519 public JWK; anything else (RSA, EC, a private "d") is refused."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ContractError("key is not an Ed25519 JWK (kty OKP, crv Ed25519)")
    if "d" in jwk:
        raise ContractError("JWK carries a private key ('d'): publish only the public key")
    raw = b64url_decode(jwk.get("x", ""))
    if len(raw) != 32:
        raise ContractError("Ed25519 JWK 'x' must be 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Create `path` with mode 0600 from the start (no window where others can read it), and
    never overwrite an existing key: losing a private key is not undoable."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ContractError(f"{path} exists: refusing to overwrite a private key") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem(key))
    os.chmod(path, 0o600)  # umask may have narrowed it further; never wider


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key from a PEM file or a JWK JSON file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ContractError(f"cannot read public key {path}: {exc}") from exc
    if data.lstrip().startswith(b"{"):
        try:
            return public_key_from_jwk(json.loads(data))
        except json.JSONDecodeError as exc:
            raise ContractError(f"{path} is not a JWK: {exc}") from exc
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise ContractError(f"{path} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ContractError(f"{path} is not an Ed25519 public key")
    return key


@dataclass(frozen=True, slots=True)
class KeyFiles:
    kid: str
    private: Path
    public_jwk: Path
    public_pem: Path


def new_key_files(directory: Path, kid: str) -> KeyFiles:
    """Generate a key pair into `directory`: `<kid>.key.pem` (0600), `<kid>.jwk.json`,
    `<kid>.pub.pem`."""
    if not kid or any(c in kid for c in "/\\") or kid.startswith("."):
        raise ContractError(f"kid {kid!r} must be a plain name (no path separators)")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    files = KeyFiles(
        kid=kid,
        private=directory / f"{kid}.key.pem",
        public_jwk=directory / f"{kid}.jwk.json",
        public_pem=directory / f"{kid}.pub.pem",
    )
    write_private_key(files.private, key)
    files.public_jwk.write_text(json.dumps(public_jwk(key, kid), indent=2) + "\n")
    files.public_pem.write_bytes(public_pem(key))
    return files
