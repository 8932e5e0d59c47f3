"""JWS (RFC 7515) with EdDSA/Ed25519 only: General JSON Serialization for multi-party documents
and compact serialization for request tokens.

Why so strict: the classic JWS attacks are the verifier trusting the token about how to verify
it ("alg": "none", HS256 keyed with a public key, an embedded "jwk"). Here the algorithm comes
from an allow-list, the key only from the trust registry (by `kid`), and the header must not
carry keys, key URLs or critical extensions. Every protected header names its `kid` and its
signing time `iat` (seconds), so a signature made after its key's revocation can be refused.
Payload and header bytes must be RFC 8785 canonical and free of duplicate keys.

Why hand-written rather than joserfc (evaluated for issue 7 at joserfc 1.8; the RFC 7515 parts
here are the base64url framing and one `cryptography` Ed25519 call, the rest is our rules):
- joserfc marks "EdDSA" deprecated (RFC 9864) and emits a SecurityWarning on every sign and
  verify; silencing it per call is global, thread-unsafe state, and moving to RFC 9864's
  "Ed25519" would change the header of every signed registry, contract, token and audit
  checkpoint already issued (a breaking wire change for every party).
- its encoder writes headers with `json.dumps(ensure_ascii=True)` in insertion order, which is
  not RFC 8785: a header with a non-ASCII value or unsorted keys comes out in a form this
  module's canonical rule refuses, so signing would have to stay ours anyway.
- its decoder reads headers with plain `json.loads`, so `{"kid":"k1","kid":"k2"}` is taken as
  k2 (last wins): exactly the signer/verifier split the duplicate-key check exists for, so
  headers would still be decoded here first.
- General JSON verification is all-or-nothing with one key finder; contracts need a verdict
  per signature (which party signed, with which key, when), and its default 128 kB payload
  limit would refuse a large registry.
tests/contracts/test_jws_interop.py keeps joserfc as an independent RFC 7515 check: what this
module signs verifies there, and what it signs canonically parses and verifies here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from hub.canonical_json import b64url, b64url_decode, canonical, loads_canonical
from hub.clock import EPOCH_MAX, from_epoch, is_numeric_date, to_epoch
from hub.errors import ContractError

__all__ = [
    "ALLOWED_ALGORITHMS",
    "AlgorithmNotAllowed",
    "SignatureEntry",
    "GeneralJws",
    "CompactJws",
    "sign_general",
    "add_signature",
    "parse_general",
    "sign_compact",
    "parse_compact",
    "verify_signature",
    "verify_compact",
]

#: the only algorithm accepted; "none", HS*, RS*, ES* are all refused
ALLOWED_ALGORITHMS = frozenset({"EdDSA"})
#: header parameters that would let a document choose its own key or semantics
_FORBIDDEN_HEADER = frozenset({"jwk", "jku", "x5u", "x5c", "crit", "b64"})


class AlgorithmNotAllowed(ContractError):
    """The JWS names an algorithm outside the allow-list (only EdDSA is accepted)."""


@dataclass(frozen=True, slots=True)
class SignatureEntry:
    """One signature of a General JWS, with its decoded protected header."""

    protected: str
    header: Mapping[str, Any]
    signature: bytes

    @property
    def kid(self) -> str:
        return str(self.header["kid"])

    @property
    def signed_at(self) -> datetime:
        return from_epoch(int(self.header["iat"]))


@dataclass(frozen=True, slots=True)
class GeneralJws:
    payload_b64: str
    payload: Any
    signatures: tuple[SignatureEntry, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "payload": self.payload_b64,
            "signatures": [
                {"protected": s.protected, "signature": b64url(s.signature)}
                for s in self.signatures
            ],
        }


@dataclass(frozen=True, slots=True)
class CompactJws:
    header: Mapping[str, Any]
    payload: Any
    signing_input: bytes
    signature: bytes

    @property
    def kid(self) -> str:
        return str(self.header["kid"])


def _check_header(header: Any) -> Mapping[str, Any]:
    if not isinstance(header, dict):
        raise ContractError("JWS protected header is not a JSON object")
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise AlgorithmNotAllowed(
            f"JWS algorithm {alg!r} is not allowed: sign with EdDSA (Ed25519)"
        )
    bad = _FORBIDDEN_HEADER.intersection(header)
    if bad:
        raise ContractError(
            f"JWS header parameters {sorted(bad)} are not accepted: keys come only from the "
            "registry"
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ContractError("JWS protected header has no 'kid': name the signing key")
    iat = header.get("iat")
    if not is_numeric_date(iat):
        raise ContractError(
            "JWS protected header has no integer 'iat' (signing time, whole seconds since "
            f"1970, at most {EPOCH_MAX})")
    return header


def _protected(kid: str, iat: datetime, extra: Mapping[str, Any] | None) -> str:
    header: dict[str, Any] = {**(extra or {}), "alg": "EdDSA", "kid": kid, "iat": to_epoch(iat)}
    _check_header(header)
    return b64url(canonical(header))


def _decode_header(protected: str) -> Mapping[str, Any]:
    return _check_header(loads_canonical(b64url_decode(protected)))


def sign_general(
    payload: Any,
    key: Ed25519PrivateKey,
    kid: str,
    *,
    iat: datetime,
    extra_header: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A new General JWS over the canonical form of `payload`, with one signature."""
    payload_b64 = b64url(canonical(payload))
    return add_signature({"payload": payload_b64, "signatures": []}, key, kid, iat=iat,
                         extra_header=extra_header)


def add_signature(
    envelope: Mapping[str, Any],
    key: Ed25519PrivateKey,
    kid: str,
    *,
    iat: datetime,
    extra_header: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a copy of `envelope` with one more signature over the same payload bytes.
    The payload is checked first, so nobody countersigns a malformed document."""
    parsed = parse_general(envelope)
    protected = _protected(kid, iat, extra_header)
    signature = key.sign(f"{protected}.{parsed.payload_b64}".encode("ascii"))
    result = parsed.to_json()
    result["signatures"].append({"protected": protected, "signature": b64url(signature)})
    return result


def parse_general(envelope: Any) -> GeneralJws:
    """Decode a General JWS without verifying signatures (that needs the registry).
    Refuses a non-canonical or duplicate-key payload, unprotected headers and bad algorithms."""
    if not isinstance(envelope, Mapping) or set(envelope) != {"payload", "signatures"}:
        raise ContractError("not a JWS General JSON Serialization: need 'payload', 'signatures'")
    payload_b64 = envelope["payload"]
    signatures = envelope["signatures"]
    if not isinstance(payload_b64, str) or not isinstance(signatures, list):
        raise ContractError("JWS 'payload' must be a string and 'signatures' a list")
    payload = loads_canonical(b64url_decode(payload_b64))
    entries = []
    for item in signatures:
        if not isinstance(item, Mapping) or set(item) != {"protected", "signature"}:
            raise ContractError(
                "each JWS signature needs exactly 'protected' and 'signature' "
                "(unprotected headers are not signed, so not accepted)"
            )
        entries.append(
            SignatureEntry(
                protected=item["protected"],
                header=_decode_header(item["protected"]),
                signature=b64url_decode(item["signature"]),
            )
        )
    return GeneralJws(payload_b64=payload_b64, payload=payload, signatures=tuple(entries))


def verify_signature(payload_b64: str, entry: SignatureEntry, key: Ed25519PublicKey) -> bool:
    try:
        key.verify(entry.signature, f"{entry.protected}.{payload_b64}".encode("ascii"))
    except InvalidSignature:
        return False
    return True


def sign_compact(
    claims: Mapping[str, Any],
    key: Ed25519PrivateKey,
    kid: str,
    *,
    iat: datetime,
    extra_header: Mapping[str, Any] | None = None,
) -> str:
    protected = _protected(kid, iat, extra_header)
    payload_b64 = b64url(canonical(dict(claims)))
    signing_input = f"{protected}.{payload_b64}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode('ascii')))}"


def parse_compact(token: str) -> CompactJws:
    """Decode a compact JWS (three base64url parts); signature not yet verified."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or not all(parts):
        raise ContractError("not a compact JWS: expected header.payload.signature")
    header = _decode_header(parts[0])
    return CompactJws(
        header=header,
        payload=loads_canonical(b64url_decode(parts[1])),
        signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
        signature=b64url_decode(parts[2]),
    )


def verify_compact(jws: CompactJws, key: Ed25519PublicKey) -> bool:
    try:
        key.verify(jws.signature, jws.signing_input)
    except InvalidSignature:
        return False
    return True

