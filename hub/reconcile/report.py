"""The reconciliation report: a document signed by the hub and countersigned by each party.

The signed document (RFC 8785 canonical JSON, General JSON JWS as contracts: hub.jws) holds the
inputs (each ledger's label, digest, size, rows in and out of scope, bad rows), the parameters,
the counts per category, and per category the sha256 of its rows. The rows themselves are
personal data: they are kept by the hub and shown to each party only as its contracts allow
(hub.reconcile.privacy), so the document commits to every row by digest without carrying any
(a party verifies the rows it is shown against the digest of a category it sees whole). A
party's countersignature says "we agree this is the result of comparing these two ledgers";
once every party of the run has countersigned, the run fulfils the contract's quarterly
obligation (`hub.reconcile.store.quarterly_reconciliation_signed`).

Rows are plain JSON values without floats (scores are per mille), so `json.dumps` with sorted
keys and no whitespace is already their RFC 8785 form: the digest of 250,000 rows costs a
second, not the pure-Python canonicaliser's minutes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.clock import format_time, utcnow
from hub.contracts.trust_registry import Registry
from hub.errors import ContractError
from hub.jws import add_signature, parse_general, sign_general, verify_signature
from hub.reconcile.ledger import COMPARED_FIELDS, BadRow, Ledger
from hub.reconcile.matching import CATEGORIES, Outcome, Parameters, authority_of

__all__ = ["REPORT_TYPE", "Signer", "VerifiedReport", "rows_of", "rows_digest",
           "build_document", "sign_report", "countersign", "verify_report", "verify_rows",
           "SIDE_FIELDS"]

REPORT_TYPE = "yanxing.reconciliation"
_HEADER = {"typ": "yanxing-reconciliation+jws"}
#: what a row shows of each side's record (the phone as masked digits, never the hash)
SIDE_FIELDS: tuple[str, ...] = (
    "source", "local_id", "row", "name", "gender", "birth_date", "phone", "status",
    "origin_org_id", "origin_region_code", "destination_region_code", "destination_org_id",
    "updated_at",
)


def _side(record: Mapping[str, Any], prefix: str) -> dict[str, Any] | None:
    if record.get(prefix + "local_id") is None:
        return None
    part = {f: record.get(prefix + f) for f in SIDE_FIELDS}
    part["phone"] = record.get(prefix + "phone_masked")
    return part


def _subject(o: Mapping[str, Any] | None, d: Mapping[str, Any] | None,
             record: Mapping[str, Any]) -> dict[str, Any]:
    """Routing of the member the row is about, as the policy judges scope (origin facts from
    the origin's record first, destination facts from the destination's)."""
    def first(*values: Any) -> Any:
        return next((v for v in values if v is not None), None)

    o, d = o or {}, d or {}
    return {
        "origin_org_id": first(o.get("origin_org_id"), d.get("origin_org_id")),
        "origin_region_code": first(o.get("origin_region_code"), d.get("origin_region_code"),
                                    record.get("o_id_region"), record.get("d_id_region")),
        "destination_region_code": first(d.get("destination_region_code"),
                                         o.get("destination_region_code")),
        "status": first(o.get("status"), d.get("status")),
    }


def _row(category: str, record: Mapping[str, Any]) -> dict[str, Any]:
    o, d = _side(record, "o_"), _side(record, "d_")
    differs = (record.get("differs") or "").split()
    reasons = (record.get("reasons") or "").split()
    return {
        "category": category,
        "key": record.get("o_key") or record.get("d_key"),
        "pair": record.get("pair"),
        "via": record.get("via"),
        "score": record.get("score"),
        "reasons": reasons,
        "differences": [
            {"field": f, "origin": (o or {}).get(f), "destination": (d or {}).get(f),
             "authority": authority_of(f)}
            for f in COMPARED_FIELDS if f in differs
        ],
        "origin": o,
        "destination": d,
        "subject": _subject(o, d, record),
    }


def _bad_row(bad: BadRow) -> dict[str, Any]:
    return {"category": "bad_row", "side": bad.side, "where": bad.where, "row": bad.row,
            "column": bad.column, "code": bad.code, "message": bad.message,
            "local_id": bad.local_id}


def rows_of(outcome: Outcome, origin: Ledger,
            destination: Ledger) -> dict[str, list[dict[str, Any]]]:
    """Every row of every category, as JSON values, in a stable order."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for category in CATEGORIES:
        if category == "bad_row":
            rows[category] = [_bad_row(b) for b in (*origin.bad_rows, *destination.bad_rows)]
            continue
        frame: pl.DataFrame = outcome.frames[category]
        order = [c for c in ("o_source", "o_local_id", "d_source", "d_local_id")
                 if c in frame.columns]
        frame = frame.sort(order, nulls_last=True) if frame.height else frame
        rows[category] = [_row(category, r) for r in frame.iter_rows(named=True)]
    return rows


def _line(row: Mapping[str, Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def rows_digest(rows: Iterable[Mapping[str, Any]]) -> str:
    """sha256 over the rows' canonical JSON, one per line, in order."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(_line(row) + b"\n")
    return "sha256:" + digest.hexdigest()


def _input(ledger: Ledger, in_scope: int, out_of_scope: int) -> dict[str, Any]:
    return {"label": ledger.label, "digest": ledger.digest, "rows": ledger.size,
            "in_scope": in_scope, "out_of_scope": out_of_scope,
            "bad_rows": len(ledger.bad_rows)}


def build_document(*, run_id: str, contract: Mapping[str, str], parties: Mapping[str, str],
                   params: Parameters, origin: Ledger, destination: Ledger, outcome: Outcome,
                   rows: Mapping[str, Sequence[Mapping[str, Any]]],
                   created_at: datetime | None = None) -> dict[str, Any]:
    """The document every party signs. `contract`: {"id", "digest"} of the contract the run is
    under; `parties`: {"origin": party, "destination": party}."""
    return {
        "type": REPORT_TYPE,
        "id": run_id,
        "contract": dict(contract),
        "parties": dict(parties),
        "created_at": format_time(created_at or utcnow()),
        "parameters": params.as_json(),
        "inputs": {
            "origin": _input(origin, outcome.in_scope["origin"], outcome.out_of_scope["origin"]),
            "destination": _input(destination, outcome.in_scope["destination"],
                                  outcome.out_of_scope["destination"]),
        },
        "counts": {c: len(rows[c]) for c in CATEGORIES},
        "rows": {c: rows_digest(rows[c]) for c in CATEGORIES},
    }


@dataclass(frozen=True, slots=True)
class Signer:
    party: str
    kid: str
    signed_at: datetime


@dataclass(frozen=True, slots=True)
class VerifiedReport:
    document: Mapping[str, Any]
    envelope: Mapping[str, Any]
    hub: Signer | None
    parties: Mapping[str, Signer]

    def signed_by_every_party(self) -> bool:
        return bool(self.hub) and set(self.document["parties"].values()) <= set(self.parties)


def sign_report(document: Mapping[str, Any], key: Ed25519PrivateKey, kid: str, *,
                now: datetime | None = None) -> dict[str, Any]:
    """The hub's signature, starting the envelope."""
    if document.get("type") != REPORT_TYPE:
        raise ContractError(f"not a reconciliation report (type {document.get('type')!r})")
    return sign_general(dict(document), key, kid, iat=now or utcnow(), extra_header=_HEADER)


def countersign(envelope: Mapping[str, Any], key: Ed25519PrivateKey, kid: str, *,
                now: datetime | None = None) -> dict[str, Any]:
    """A party's signature over the same payload (what a party's client does)."""
    if parse_general(envelope).payload.get("type") != REPORT_TYPE:
        raise ContractError("not a reconciliation report")
    return add_signature(envelope, key, kid, iat=now or utcnow(), extra_header=_HEADER)


def verify_report(envelope: Mapping[str, Any], registry: Registry, *,
                  now: datetime | None = None) -> VerifiedReport:
    """Verify every signature against the trust registry; ContractError names the first
    problem (a changed document, a signer who is no party of the run, a second signature)."""
    now = now or utcnow()
    jws = parse_general(envelope)
    document = jws.payload
    if not isinstance(document, dict) or document.get("type") != REPORT_TYPE:
        raise ContractError("not a reconciliation report")
    parties = set(document.get("parties", {}).values())
    hub: Signer | None = None
    signers: dict[str, Signer] = {}
    for entry in jws.signatures:
        key = registry.resolve(entry.kid, entry.signed_at, now)
        if not verify_signature(jws.payload_b64, entry, key.public_key):
            raise ContractError(
                f"signature by key {entry.kid!r} (party {key.party!r}) does not verify: the "
                "report was changed after signing, or the signature is corrupt")
        signer = Signer(key.party, entry.kid, entry.signed_at)
        if key.party == registry.hub_id:
            if hub is not None:
                raise ContractError("the hub signed this report twice")
            hub = signer
        elif key.party not in parties:
            raise ContractError(f"signed by {key.party!r}, which is no party of this run")
        elif key.party in signers:
            raise ContractError(f"party {key.party!r} signed this report twice")
        else:
            signers[key.party] = signer
    if hub is None:
        raise ContractError("the report carries no signature of the hub")
    return VerifiedReport(document, dict(envelope), hub, signers)


def verify_rows(document: Mapping[str, Any], rows: Mapping[str, Sequence[Mapping[str, Any]]]
                ) -> list[str]:
    """Categories whose rows do not match the signed digests (empty: all match)."""
    return [c for c in CATEGORIES
            if c in rows and rows_digest(rows[c]) != document["rows"].get(c)]
