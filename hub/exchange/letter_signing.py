"""Signing and verifying evaluation letters, exactly as contracts are signed.

A letter envelope is an RFC 7515 General JSON JWS over the RFC 8785 canonical bytes of
`LetterDocument.payload()`, each signature's protected header naming its `kid`, its signing
time `iat` and `typ` = `yanxing-letter+jws` (`hub.jws` refuses any other algorithm, embedded
keys and non-canonical payloads). Keys come only from the trust registry.

Who signs: the destination party (the letter's sender) signs; the origin party (its
recipient) countersigns to acknowledge. The hub holds no party key, so the party signs
offline: `sign_letter(payload, key, kid)` (hub.letter_signing, hub core, re-exported here:
what `yanxing letter sign`, the demo and the officials' console call), or any RFC 7515
library in its client, over the payload bytes the hub returned (`EvaluationLetter.payload`,
base64url). It then submits the envelope.

`verify_letter_signature` admits an envelope only if its payload is byte-for-byte the
letter the hub stored, and it carries a valid signature by the expected party's key, made
with a key usable now (a revoked or expired key is refused whatever time it claims, as for
a contract signature presented now). Extra signatures must verify too: one bad signature
spoils the envelope, as for contracts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hub.canonical_json import b64url, canonical
from hub.clock import utcnow
from hub.contracts.lifecycle import SignatureInfo
from hub.contracts.trust_registry import Registry
from hub.errors import ContractError, HubError
from hub.jws import parse_general, verify_signature
from hub.letter_signing import LETTER_JWS_TYPE, countersign_letter, sign_letter

__all__ = ["LetterSignatureInvalid", "sign_letter", "countersign_letter",
           "verify_letter_signature", "payload_b64", "payload_digest"]


class LetterSignatureInvalid(HubError):
    """The submitted letter signature does not verify, is not the expected party's, or is
    over a different text: sign the letter's payload exactly as the hub returned it."""

    code = "SIGNATURE_INVALID"


def payload_b64(payload: Mapping[str, Any]) -> str:
    """The base64url of the canonical payload: what is signed, and what clients are shown."""
    return b64url(canonical(dict(payload)))


def payload_digest(payload: Mapping[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical(dict(payload))).hexdigest()


def verify_letter_signature(
    envelope: Any, payload: Mapping[str, Any], registry: Registry, party: str, *,
    now: datetime | None = None,
) -> SignatureInfo:
    """The expected `party`'s signature on the stored letter `payload`, verified; raises
    LetterSignatureInvalid saying what is wrong."""
    now = now or utcnow()
    try:
        jws = parse_general(envelope)
    except ContractError as exc:
        raise LetterSignatureInvalid(f"not a letter signature envelope: {exc}") from None
    if jws.payload_b64 != payload_b64(payload):
        raise LetterSignatureInvalid(
            "the signed text is not this letter's (tampered, or another version): sign the "
            "payload the hub returned, byte for byte")
    if not jws.signatures:
        raise LetterSignatureInvalid("the envelope carries no signature")
    found: SignatureInfo | None = None
    for entry in jws.signatures:
        if entry.header.get("typ") != LETTER_JWS_TYPE:
            raise LetterSignatureInvalid(
                f"signature by key {entry.kid!r} is not a letter signature (typ must be "
                f"{LETTER_JWS_TYPE!r})")
        try:
            key = registry.resolve(entry.kid, entry.signed_at, now, presented_at=now)
        except ContractError as exc:
            raise LetterSignatureInvalid(f"signature by key {entry.kid!r}: {exc}") from None
        if not verify_signature(jws.payload_b64, entry, key.public_key):
            raise LetterSignatureInvalid(
                f"signature by key {entry.kid!r} (party {key.party!r}) does not verify: the "
                "letter was changed after signing, or the signature is forged or corrupt")
        if key.party == party:
            found = SignatureInfo(party=key.party, kid=entry.kid, signed_at=entry.signed_at)
    if found is None:
        raise LetterSignatureInvalid(f"the envelope has no signature by party {party!r}")
    return found

