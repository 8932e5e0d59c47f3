"""Contract signing and the lifecycle: proposed -> partially signed -> active ->
superseded / expired / revoked.

A contract becomes active when it carries exactly one valid signature from each of its parties
plus the hub registrar's (the hub operator vouches that the parties are who the registry says).
Any invalid signature makes the whole envelope invalid — never "ignore the bad one", since a
signature that no longer verifies means the body changed after signing. A revocation is its
own small document, signed by any one party of the contract; it takes effect at its signing
time. Superseded, expired and revoked are terminal. Stored state lives in `hub.contracts.store`.

A signature's claimed signing time is the signer's word; a revoked key's holder can back-date.
So a signature counts only if the hub *registered* it (its own record, `first_seen`, kept by the
store) before the key's `revoked_at`; a signature the hub sees for the first time now is judged
at now, and a revocation is always judged at the time it is presented.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.canonical_json import b64url
from hub.clock import utcnow
from hub.contracts.model import Contract, parse_contract
from hub.contracts.trust_registry import Registry
from hub.errors import ContractError
from hub.jws import (
    SignatureEntry,
    add_signature,
    parse_general,
    sign_general,
    verify_signature,
)

__all__ = [
    "ContractState",
    "TERMINAL_STATES",
    "SignatureInfo",
    "VerifiedContract",
    "Revocation",
    "REVOCATION_TYPE",
    "sign_contract",
    "merge_signatures",
    "verify_contract",
    "make_revocation",
    "verify_revocation",
    "signature_id",
]

REVOCATION_TYPE = "yanxing.contract-revocation"
_NOTHING_SEEN: Mapping[str, datetime] = MappingProxyType({})
_HEADER = {"typ": "yanxing-contract+jws"}


class ContractState(enum.StrEnum):
    PROPOSED = "proposed"                  # no party signature yet
    PARTIALLY_SIGNED = "partially_signed"  # some parties (or only the registrar) signed
    ACTIVE = "active"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
    REVOKED = "revoked"


TERMINAL_STATES = frozenset({ContractState.SUPERSEDED, ContractState.EXPIRED,
                             ContractState.REVOKED})


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    party: str
    kid: str
    signed_at: datetime


@dataclass(frozen=True, slots=True)
class VerifiedContract:
    """A contract envelope whose every signature verified against the registry."""

    contract: Contract
    envelope: Mapping[str, Any]
    signatures: Mapping[str, SignatureInfo]  # party id -> its one signature
    registrar: SignatureInfo | None

    @property
    def missing(self) -> frozenset[str]:
        """Parties of the contract that have not signed yet."""
        return frozenset(self.contract.parties) - frozenset(self.signatures)

    @property
    def signing_state(self) -> ContractState:
        if not self.missing and self.registrar is not None:
            return ContractState.ACTIVE
        if self.signatures or self.registrar is not None:
            return ContractState.PARTIALLY_SIGNED
        return ContractState.PROPOSED


def sign_contract(
    document_or_envelope: Mapping[str, Any],
    key: Ed25519PrivateKey,
    kid: str,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Sign a contract document (starting an envelope) or add a signature to an envelope.
    The contract is validated first: nobody should sign a document the hub will refuse."""
    now = now or utcnow()
    if "payload" in document_or_envelope:
        parse_contract(parse_general(document_or_envelope).payload)
        return add_signature(document_or_envelope, key, kid, iat=now, extra_header=_HEADER)
    parse_contract(dict(document_or_envelope))
    return sign_general(dict(document_or_envelope), key, kid, iat=now, extra_header=_HEADER)


def merge_signatures(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Combine two envelopes over the same payload (parties may sign copies in parallel).
    Identical signatures are kept once; verification still demands one per party."""
    ja, jb = parse_general(a), parse_general(b)
    if ja.payload_b64 != jb.payload_b64:
        raise ContractError("cannot merge signatures of different contract texts")
    merged = ja.to_json()
    seen = {(s["protected"], s["signature"]) for s in merged["signatures"]}
    for s in jb.to_json()["signatures"]:
        if (s["protected"], s["signature"]) not in seen:
            merged["signatures"].append(s)
            seen.add((s["protected"], s["signature"]))
    return merged


def signature_id(entry: SignatureEntry) -> str:
    """Names one signature (an Ed25519 signature is unique to its key, header and payload):
    the key of the store's `first_seen` record."""
    return b64url(entry.signature)


def verify_contract(
    envelope: Mapping[str, Any],
    registry: Registry,
    *,
    now: datetime | None = None,
    first_seen: Mapping[str, datetime] | None = _NOTHING_SEEN,
) -> VerifiedContract:
    """Verify every signature; raise ContractError naming the first problem found.
    `first_seen`: signature id -> when the hub registered it; a signature not in it is being
    presented `now`. None judges claimed signing times only: a cheap pre-check that can never
    admit a signature by itself (the store always verifies again with its records)."""
    now = now or utcnow()
    registry.check_current(now)
    jws = parse_general(envelope)
    contract = parse_contract(jws.payload)
    parties: dict[str, SignatureInfo] = {}
    registrar: SignatureInfo | None = None
    for entry in jws.signatures:
        presented = None if first_seen is None else first_seen.get(signature_id(entry), now)
        key = registry.resolve(entry.kid, entry.signed_at, now, presented_at=presented)
        if not verify_signature(jws.payload_b64, entry, key.public_key):
            raise ContractError(
                f"signature by key {entry.kid!r} (party {key.party!r}) does not verify: the "
                "contract was changed after signing, or the signature is corrupt"
            )
        info = SignatureInfo(party=key.party, kid=entry.kid, signed_at=entry.signed_at)
        if key.party == registry.hub_id:
            if registrar is not None:
                raise ContractError("the hub registrar signed twice: exactly one is allowed")
            registrar = info
        elif key.party not in contract.parties:
            raise ContractError(
                f"signed by {key.party!r}, which is not a party of contract {contract.id!r}"
            )
        elif key.party in parties:
            raise ContractError(
                f"party {key.party!r} signed contract {contract.id!r} twice: exactly one "
                "signature per party"
            )
        else:
            parties[key.party] = info
    return VerifiedContract(contract, dict(envelope), parties, registrar)


@dataclass(frozen=True, slots=True)
class Revocation:
    contract_digest: str
    contract_id: str
    party: str
    reason: str
    effective_at: datetime
    envelope: Mapping[str, Any]


def make_revocation(
    contract: Contract,
    reason: str,
    key: Ed25519PrivateKey,
    kid: str,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A revocation signed by one party; effective at its signing time (no back-dating)."""
    payload = {
        "type": REVOCATION_TYPE,
        "contract_id": contract.id,
        "contract": contract.digest,
        "reason": reason,
    }
    return sign_general(payload, key, kid, iat=now or utcnow(),
                        extra_header={"typ": "yanxing-revocation+jws"})


def verify_revocation(
    envelope: Mapping[str, Any],
    registry: Registry,
    contract: Contract,
    *,
    now: datetime | None = None,
) -> Revocation:
    now = now or utcnow()
    jws = parse_general(envelope)
    payload = jws.payload
    if not isinstance(payload, dict) or payload.get("type") != REVOCATION_TYPE or set(
        payload
    ) != {"type", "contract_id", "contract", "reason"}:
        raise ContractError("not a contract revocation document")
    if payload["contract"] != contract.digest or payload["contract_id"] != contract.id:
        raise ContractError("the revocation names a different contract (digest mismatch)")
    if len(jws.signatures) != 1:
        raise ContractError("a revocation carries exactly one party signature")
    entry = jws.signatures[0]
    # presented now: a revocation signed by a revoked key is refused whatever time it claims
    key = registry.resolve(entry.kid, entry.signed_at, now, presented_at=now)
    if not verify_signature(jws.payload_b64, entry, key.public_key):
        raise ContractError("the revocation's signature does not verify")
    if key.party not in contract.parties:
        raise ContractError(
            f"{key.party!r} is not a party of contract {contract.id!r} and cannot revoke it"
        )
    return Revocation(contract.digest, contract.id, key.party, str(payload["reason"]),
                      entry.signed_at, dict(envelope))


