"""Signing an evaluation letter (年终发函) with a party's key: the primitive (hub core).

A party signs a letter on its own side, never on the hub (the hub holds no party key): offline
with `yanxing letter sign` (hub.cli.letter), or on the party's server in its web client (the
officials' console, console.pages.letters). Both must produce the same envelope, so the
signing lives here, below the server and the client: an RFC 7515 General JSON JWS over the
RFC 8785 canonical bytes of the letter payload, each signature's protected header naming its
`kid`, its signing time `iat` and `typ` = `yanxing-letter+jws`. Verifying (against the trust
registry) is the hub's, in hub.exchange.letter_signing, which re-exports these.

`letter_payload` turns what the API shows (`EvaluationLetter.payload`, the base64url of the
canonical JSON) back into the payload, refusing anything that is not canonical or not a
letter, so a client signs exactly the bytes the hub stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.canonical_json import b64url_decode, loads_canonical
from hub.clock import utcnow
from hub.errors import ContractError
from hub.jws import add_signature, sign_general

__all__ = ["LETTER_TYPE", "LETTER_JWS_TYPE", "sign_letter", "countersign_letter",
           "letter_payload"]

#: the payload's `type`: what makes a JSON document an evaluation letter
LETTER_TYPE = "yanxing.evaluation-letter"
#: the `typ` of each signature's protected header, so a letter signature is never mistaken for
#: a contract's, a registry's or a token's
LETTER_JWS_TYPE = "yanxing-letter+jws"

_HEADER = {"typ": LETTER_JWS_TYPE}


def sign_letter(payload: Mapping[str, Any], key: Ed25519PrivateKey, kid: str, *,
                now: datetime | None = None) -> dict[str, Any]:
    """A new envelope with one signature (the destination's), signed with the party's key."""
    return sign_general(dict(payload), key, kid, iat=now or utcnow(), extra_header=_HEADER)


def countersign_letter(envelope: Mapping[str, Any], key: Ed25519PrivateKey, kid: str, *,
                       now: datetime | None = None) -> dict[str, Any]:
    """The envelope with one more signature (the origin's acknowledgement)."""
    return add_signature(envelope, key, kid, iat=now or utcnow(), extra_header=_HEADER)


def letter_payload(payload_b64: str) -> dict[str, Any]:
    """The letter a hub's `EvaluationLetter.payload` (base64url canonical JSON) holds;
    ContractError when it is not canonical JSON of an evaluation letter."""
    try:
        doc = loads_canonical(b64url_decode(payload_b64))
    except (ContractError, UnicodeDecodeError, ValueError) as exc:
        raise ContractError(f"not a letter's base64url payload: {exc}") from None
    if not isinstance(doc, dict) or doc.get("type") != LETTER_TYPE:
        raise ContractError(f"not an evaluation letter (type {LETTER_TYPE!r})")
    return doc
