"""JWS General/compact serialization: allow-list, canonical payloads, header hygiene."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from contract_world import NOW
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.canonical_json import b64url, canonical
from hub.errors import ContractError
from hub.jws import (
    AlgorithmNotAllowed,
    add_signature,
    parse_compact,
    parse_general,
    sign_compact,
    sign_general,
    verify_compact,
    verify_signature,
)

KEY = Ed25519PrivateKey.generate()


def _forge(header: dict[str, Any], payload: Any, key: Ed25519PrivateKey = KEY) -> dict[str, Any]:
    """An envelope with an arbitrary header, validly Ed25519-signed (so only the rules refuse)."""
    protected = b64url(canonical(header))
    payload_b64 = b64url(canonical(payload))
    sig = key.sign(f"{protected}.{payload_b64}".encode())
    return {"payload": payload_b64, "signatures": [{"protected": protected,
                                                    "signature": b64url(sig)}]}


def test_sign_and_verify_two_signatures() -> None:
    other = Ed25519PrivateKey.generate()
    env = sign_general({"b": 1, "a": "雁行"}, KEY, "k1", iat=NOW)
    env = add_signature(env, other, "k2", iat=NOW)
    jws = parse_general(env)
    assert jws.payload == {"a": "雁行", "b": 1}
    assert [s.kid for s in jws.signatures] == ["k1", "k2"]
    assert jws.signatures[0].signed_at == NOW
    assert verify_signature(jws.payload_b64, jws.signatures[0], KEY.public_key())
    assert verify_signature(jws.payload_b64, jws.signatures[1], other.public_key())
    assert not verify_signature(jws.payload_b64, jws.signatures[1], KEY.public_key())


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256", "ES256", "EdDSA ", None])
def test_algorithm_not_allowed(alg: str | None) -> None:
    env = _forge({"alg": alg, "kid": "k1", "iat": 1}, {"a": 1})
    with pytest.raises(AlgorithmNotAllowed, match="not allowed"):
        parse_general(env)


def test_hs256_token_signed_with_public_key_bytes_refused() -> None:
    """The classic confusion attack: HMAC keyed with the verifier's public key."""
    header = b64url(canonical({"alg": "HS256", "kid": "k1", "iat": 1}))
    payload = b64url(canonical({"iss": "x"}))
    mac = hmac.new(b"public-key-bytes", f"{header}.{payload}".encode(), hashlib.sha256).digest()
    with pytest.raises(AlgorithmNotAllowed):
        parse_compact(f"{header}.{payload}.{b64url(mac)}")


@pytest.mark.parametrize("extra", [{"jwk": {"kty": "OKP"}}, {"jku": "http://x"}, {"crit": ["b64"]},
                                   {"b64": False}])
def test_header_cannot_bring_its_own_key_or_semantics(extra: dict[str, Any]) -> None:
    env = _forge({"alg": "EdDSA", "kid": "k1", "iat": 1, **extra}, {"a": 1})
    with pytest.raises(ContractError, match="not accepted"):
        parse_general(env)


def test_header_needs_kid_and_iat() -> None:
    with pytest.raises(ContractError, match="kid"):
        parse_general(_forge({"alg": "EdDSA", "iat": 1}, {"a": 1}))
    with pytest.raises(ContractError, match="iat"):
        parse_general(_forge({"alg": "EdDSA", "kid": "k"}, {"a": 1}))


def test_non_canonical_payload_refused() -> None:
    env = sign_general({"a": 1, "b": 2}, KEY, "k1", iat=NOW)
    env["payload"] = b64url(b'{"b":2,"a":1}')
    with pytest.raises(ContractError, match="not RFC 8785 canonical"):
        parse_general(env)


def test_duplicate_key_payload_refused() -> None:
    env = sign_general({"a": 1}, KEY, "k1", iat=NOW)
    env["payload"] = b64url(b'{"a":1,"a":2}')
    with pytest.raises(ContractError, match="duplicate JSON key"):
        parse_general(env)


def test_unprotected_header_refused() -> None:
    env = sign_general({"a": 1}, KEY, "k1", iat=NOW)
    env["signatures"][0]["header"] = {"kid": "other"}
    with pytest.raises(ContractError, match="unprotected"):
        parse_general(env)


def test_compact_round_trip_and_tamper() -> None:
    token = sign_compact({"iss": "wenjiang", "n": 1}, KEY, "k1", iat=NOW)
    jws = parse_compact(token)
    assert jws.payload == {"iss": "wenjiang", "n": 1} and jws.kid == "k1"
    assert verify_compact(jws, KEY.public_key())
    head, _, sig = token.split(".")
    tampered = parse_compact(f"{head}.{b64url(canonical({'iss': 'xuzhou', 'n': 1}))}.{sig}")
    assert not verify_compact(tampered, KEY.public_key())


@pytest.mark.parametrize("token", ["", "a.b", "a..c", "a.b.c.d"])
def test_malformed_compact_refused(token: str) -> None:
    with pytest.raises(ContractError):
        parse_compact(token)


@pytest.mark.parametrize("iat", [-1, 253402300800, 9007199254740991, 1.5, True, "1"])
def test_header_iat_must_be_a_sane_numeric_date(iat: Any) -> None:
    """Out of 1970..9999 a signing time overflowed `datetime` later (HTTP 500 for a token,
    a traceback for a contract); it is refused when the header is read."""
    with pytest.raises(ContractError, match="iat"):
        parse_general(_forge({"alg": "EdDSA", "kid": "k", "iat": iat}, {"a": 1}))


def test_deeply_nested_json_is_a_contract_error() -> None:
    deep = b64url(b"[" * 10_000 + b"]" * 10_000)
    with pytest.raises(ContractError, match="nested too deeply"):
        parse_compact(f"{deep}.e30.AA")
    with pytest.raises(ContractError, match="nested too deeply"):
        canonical(_nested(5000))


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value
