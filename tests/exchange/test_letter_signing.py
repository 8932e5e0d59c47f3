"""Letter signatures: the sender signs, the recipient countersigns; anything else is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.canonical_json import b64url, b64url_decode
from hub.clock import utcnow
from hub.contracts.demo import DemoTrust, build_demo_trust
from hub.contracts.keys import load_private_key
from hub.exchange.letter_signing import (
    LetterSignatureInvalid,
    countersign_letter,
    payload_b64,
    sign_letter,
    verify_letter_signature,
)
from hub.jws import sign_general

PARTIES = [("wenjiang", "温江", ["510115"]), ("luxian", "泸县", ["510521"])]
PAYLOAD: dict[str, Any] = {"type": "yanxing.evaluation-letter", "id": "L1", "year": 2025,
                           "member": {"key": "k", "name": "毛正伦"}, "text": "表现良好"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoTrust:
    return build_demo_trust(tmp_path_factory.mktemp("trust"), PARTIES)


def key_of(demo: DemoTrust, party: str) -> tuple[Ed25519PrivateKey, str]:
    kid, path = demo.party_keys[party]
    return load_private_key(path), kid


def test_sender_signs_and_recipient_countersigns(demo: DemoTrust) -> None:
    signed = sign_letter(PAYLOAD, *key_of(demo, "wenjiang"))
    info = verify_letter_signature(signed, PAYLOAD, demo.registry, "wenjiang")
    assert (info.party, info.kid) == ("wenjiang", "wenjiang-1")
    with pytest.raises(LetterSignatureInvalid, match="no signature by party 'luxian'"):
        verify_letter_signature(signed, PAYLOAD, demo.registry, "luxian")
    both = countersign_letter(signed, *key_of(demo, "luxian"))
    assert verify_letter_signature(both, PAYLOAD, demo.registry, "luxian").party == "luxian"


def test_tampered_text_is_refused(demo: DemoTrust) -> None:
    signed = sign_letter({**PAYLOAD, "text": "建议表彰"}, *key_of(demo, "wenjiang"))
    with pytest.raises(LetterSignatureInvalid, match="not this letter's"):
        verify_letter_signature(signed, PAYLOAD, demo.registry, "wenjiang")


def test_forged_signature_is_refused(demo: DemoTrust) -> None:
    # signed by a key the registry does not hold, under wenjiang's kid
    forged = sign_letter(PAYLOAD, Ed25519PrivateKey.generate(), "wenjiang-1")
    with pytest.raises(LetterSignatureInvalid, match="does not verify"):
        verify_letter_signature(forged, PAYLOAD, demo.registry, "wenjiang")
    # a genuine signature with its bytes flipped
    genuine = sign_letter(PAYLOAD, *key_of(demo, "wenjiang"))
    sig = genuine["signatures"][0]
    raw = b64url_decode(sig["signature"])
    sig["signature"] = b64url(bytes([raw[0] ^ 1]) + raw[1:])
    with pytest.raises(LetterSignatureInvalid):
        verify_letter_signature(genuine, PAYLOAD, demo.registry, "wenjiang")


def test_unknown_key_future_time_and_other_document_types_are_refused(demo: DemoTrust) -> None:
    key, _ = key_of(demo, "wenjiang")
    with pytest.raises(LetterSignatureInvalid, match="'nobody-1'"):
        verify_letter_signature(sign_letter(PAYLOAD, key, "nobody-1"), PAYLOAD, demo.registry,
                                "wenjiang")
    future = sign_letter(PAYLOAD, key, "wenjiang-1", now=utcnow() + timedelta(days=2))
    with pytest.raises(LetterSignatureInvalid, match="future"):
        verify_letter_signature(future, PAYLOAD, demo.registry, "wenjiang")
    # a signature made for another kind of document (a contract's typ) is not a letter's
    other = sign_general(PAYLOAD, key, "wenjiang-1", iat=utcnow(),
                         extra_header={"typ": "yanxing-contract+jws"})
    with pytest.raises(LetterSignatureInvalid, match="not a letter signature"):
        verify_letter_signature(other, PAYLOAD, demo.registry, "wenjiang")


@pytest.mark.parametrize("envelope", [None, "x", {}, {"payload": "e30", "signatures": []},
                                      {"payload": 1, "signatures": "no"}])
def test_malformed_envelopes_are_refused(demo: DemoTrust, envelope: Any) -> None:
    with pytest.raises(LetterSignatureInvalid):
        verify_letter_signature(envelope, PAYLOAD, demo.registry, "wenjiang")


def test_payload_b64_is_the_canonical_form() -> None:
    assert payload_b64({"b": 1, "a": "温"}) == b64url('{"a":"温","b":1}'.encode())


def test_a_client_signs_the_payload_the_hub_shows_with_the_core_primitive(demo: DemoTrust
                                                                          ) -> None:
    """What the console does: decode `EvaluationLetter.payload` and sign it with hub core's
    primitive (no server module); the hub's verifier accepts it, and the CLI's path is the
    same function."""
    from hub import letter_signing as core

    assert core.sign_letter is sign_letter and core.countersign_letter is countersign_letter
    shown = payload_b64(PAYLOAD)
    signed = core.sign_letter(core.letter_payload(shown), *key_of(demo, "wenjiang"))
    assert signed["payload"] == shown
    assert verify_letter_signature(signed, PAYLOAD, demo.registry, "wenjiang").party == \
        "wenjiang"


@pytest.mark.parametrize("shown", [
    "not base64!",                                    # not base64url
    b64url(b'{"type": "yanxing.evaluation-letter"}'),  # JSON, but not canonical
    b64url(b'{"type":"yanxing.contract"}'),           # canonical, but not a letter
    b64url(b"[1,2]"),                                 # not an object
])
def test_anything_but_a_letters_canonical_payload_is_refused(shown: str) -> None:
    from hub.errors import ContractError
    from hub.letter_signing import letter_payload

    with pytest.raises(ContractError):
        letter_payload(shown)
