"""hub.jws against an independent RFC 7515 implementation (joserfc).

The JWS code is hand-written (its docstring says why joserfc does not replace it), so a second
implementation checks that it speaks RFC 7515: what it signs, compact and General JSON,
verifies in joserfc with an EdDSA-only allow-list, and what joserfc signs in canonical form
parses and verifies here. The last test pins the rule joserfc does not have: a header with a
duplicate key (which joserfc reads as the last value) is refused.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from contract_world import NOW
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws as rfc
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, OKPKey
from joserfc.registry import HeaderParameter

from hub.canonical_json import b64url, canonical
from hub.errors import ContractError
from hub.jws import (
    add_signature,
    parse_compact,
    parse_general,
    sign_compact,
    sign_general,
    verify_compact,
    verify_signature,
)

# joserfc warns that RFC 9864 deprecates the "EdDSA" name; the wire format keeps it
pytestmark = pytest.mark.filterwarnings("ignore::joserfc.errors.SecurityWarning")

A, B = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
#: EdDSA only, and `iat` (our signing time) known as an integer header parameter
REGISTRY = rfc.JWSRegistry(header_registry={"iat": HeaderParameter("Signing time", "int")},
                           algorithms=["EdDSA"])


def _jwk(key: Ed25519PrivateKey, kid: str) -> OKPKey:
    return OKPKey.import_key(key.public_key(), {"kid": kid})


def test_our_compact_token_verifies_in_joserfc() -> None:
    token = sign_compact({"iss": "wenjiang", "n": 1}, A, "k1", iat=NOW,
                         extra_header={"typ": "yanxing-token+jws"})
    verified = rfc.deserialize_compact(token, _jwk(A, "k1"), registry=REGISTRY)
    assert verified.payload == canonical({"iss": "wenjiang", "n": 1})
    assert verified.protected["kid"] == "k1" and verified.protected["alg"] == "EdDSA"
    with pytest.raises(BadSignatureError):
        rfc.deserialize_compact(token, _jwk(B, "k1"), registry=REGISTRY)


def test_our_general_envelope_verifies_in_joserfc() -> None:
    envelope = add_signature(sign_general({"a": "雁行", "b": [1, 2]}, A, "k1", iat=NOW),
                             B, "k2", iat=NOW)
    keys = KeySet([_jwk(A, "k1"), _jwk(B, "k2")])
    general = cast(rfc.GeneralJSONSerialization, envelope)
    verified = rfc.deserialize_json(general, keys, registry=REGISTRY)
    assert verified.payload == canonical({"a": "雁行", "b": [1, 2]})
    assert [(m.protected or {}).get("kid") for m in verified.members] == ["k1", "k2"]


def _canonical_header(kid: str) -> dict[str, Any]:
    # joserfc keeps insertion order and escapes non-ASCII, so sorted ASCII keys are canonical
    return dict(sorted({"alg": "EdDSA", "kid": kid, "iat": 1748764800}.items()))


def test_joserfc_compact_token_verifies_here() -> None:
    token = rfc.serialize_compact(_canonical_header("k1"), canonical({"iss": "xuzhou"}),
                                  OKPKey.import_key(A), registry=REGISTRY)
    parsed = parse_compact(token)
    assert parsed.payload == {"iss": "xuzhou"} and parsed.kid == "k1"
    assert verify_compact(parsed, A.public_key()) and not verify_compact(parsed, B.public_key())


def test_joserfc_general_envelope_verifies_here() -> None:
    keys = KeySet([OKPKey.import_key(A, {"kid": "k1"}), OKPKey.import_key(B, {"kid": "k2"})])
    envelope = rfc.serialize_json([{"protected": _canonical_header("k1")},
                                   {"protected": _canonical_header("k2")}],
                                  canonical({"a": 1}), keys, registry=REGISTRY)
    parsed = parse_general(envelope)
    assert parsed.payload == {"a": 1} and [s.kid for s in parsed.signatures] == ["k1", "k2"]
    assert verify_signature(parsed.payload_b64, parsed.signatures[0], A.public_key())
    assert verify_signature(parsed.payload_b64, parsed.signatures[1], B.public_key())


def test_duplicate_key_header_refused_where_joserfc_takes_the_last() -> None:
    header = b64url(b'{"alg":"EdDSA","iat":1,"kid":"k1","kid":"k2"}')
    payload = b64url(canonical({"a": 1}))
    token = f"{header}.{payload}.{b64url(A.sign(f'{header}.{payload}'.encode()))}"
    assert rfc.deserialize_compact(token, _jwk(A, "k2"), registry=REGISTRY).protected["kid"] == "k2"
    with pytest.raises(ContractError, match="duplicate JSON key"):
        parse_compact(token)
