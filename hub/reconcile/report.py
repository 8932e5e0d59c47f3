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

Rows are flat JSON objects of text and whole numbers (scores are per mille), built as polars
frames: polars' NDJSON of a frame with sorted columns is then exactly their RFC 8785 form, so
the digest of a million rows is written in C, not by the pure-Python canonicaliser.
"""

from __future__ import annotations

import hashlib
import io
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
from hub.jws import parse_general, sign_general, verify_signature
from hub.reconcile.ledger import COMPARED_FIELDS, BadRow, Ledger
from hub.reconcile.matching import CATEGORIES, Outcome, Parameters, authority_of
from hub.report_signing import REPORT_JWS_HEADER, REPORT_TYPE, countersign_report

__all__ = ["REPORT_TYPE", "Signer", "VerifiedReport", "rows_of", "rows_digest", "nest",
           "build_document", "sign_report", "countersign", "verify_report", "verify_rows",
           "SIDE_FIELDS", "PAIR_COLUMNS", "BAD_COLUMNS"]

_DIGEST_CHUNK = 50_000
_HEADER = dict(REPORT_JWS_HEADER)
#: what a row shows of each side's record (the phone as masked digits, never the hash)
SIDE_FIELDS: tuple[str, ...] = (
    "source", "local_id", "row", "name", "gender", "birth_date", "phone", "status",
    "origin_org_id", "origin_region_code", "destination_region_code", "destination_org_id",
    "updated_at",
)


_SUBJECT = ("origin_org_id", "origin_region_code", "destination_region_code", "status")
#: the flat columns of a pair row, in report (and digest: sorted) form
PAIR_COLUMNS: tuple[str, ...] = tuple(sorted(
    ("category", "key", "pair", "via", "score", "reasons", "differs",
     *(f"o_{f}" for f in SIDE_FIELDS), *(f"d_{f}" for f in SIDE_FIELDS),
     *(f"s_{f}" for f in _SUBJECT))))
BAD_COLUMNS: tuple[str, ...] = ("category", "code", "column", "local_id", "message", "row",
                                "side", "where")


def _pair_frame(category: str, frame: pl.DataFrame) -> pl.DataFrame:
    """A category's pairs as flat report rows: each side's shown fields (the masked phone,
    never its hash), the subject's routing (origin facts from the origin's record first, the
    ID number's county last), why it is in the category."""
    def col(name: str, dtype: Any = pl.Utf8) -> pl.Expr:
        return pl.col(name) if name in frame.columns else pl.lit(None, dtype)

    sides = []
    for p in ("o_", "d_"):
        for f in SIDE_FIELDS:
            source = p + ("phone_masked" if f == "phone" else f)
            sides.append(col(source, pl.Int64 if f == "row" else pl.Utf8).alias(p + f))
    subject = [
        pl.coalesce(col("o_origin_org_id"), col("d_origin_org_id")).alias("s_origin_org_id"),
        pl.coalesce(col("o_origin_region_code"), col("d_origin_region_code"),
                    col("o_id_region"), col("d_id_region")).alias("s_origin_region_code"),
        pl.coalesce(col("d_destination_region_code"), col("o_destination_region_code"))
        .alias("s_destination_region_code"),
        pl.coalesce(col("o_status"), col("d_status")).alias("s_status"),
    ]
    # the frame is in report order already (hub.reconcile.matching sorts it by position)
    out = frame.select(
        pl.lit(category).alias("category"),
        pl.coalesce(col("o_key"), col("d_key")).alias("key"),
        col("pair").alias("pair"), col("via").alias("via"),
        col("score", pl.Int64).alias("score"), col("reasons").alias("reasons"),
        col("differs").alias("differs"), *sides, *subject)
    return out.select(PAIR_COLUMNS)


def _bad_frame(bad: Sequence[BadRow]) -> pl.DataFrame:
    return pl.DataFrame(
        {"category": ["bad_row"] * len(bad), "code": [b.code for b in bad],
         "column": [b.column for b in bad], "local_id": [b.local_id for b in bad],
         "message": [b.message for b in bad], "row": [b.row for b in bad],
         "side": [b.side for b in bad], "where": [b.where for b in bad]},
        schema={c: pl.Int64 if c == "row" else pl.Utf8 for c in BAD_COLUMNS})


def rows_of(outcome: Outcome, origin: Ledger, destination: Ledger, *,
            release: bool = False) -> dict[str, pl.DataFrame]:
    """Every row of every category, as flat frames in a stable order (columns sorted, so a
    row's JSON is its canonical form). `release`: replace each category's pair frame in
    `outcome` by its flat rows as they are built (same height, so `outcome.counts` holds),
    instead of keeping both: at a million rows the two copies are 600 MB of string views."""
    rows: dict[str, pl.DataFrame] = {}
    for c in CATEGORIES:
        if c == "bad_row":
            continue
        rows[c] = _pair_frame(c, outcome.frames[c])
        if release:
            outcome.frames[c] = rows[c]
    rows["bad_row"] = _bad_frame((*origin.bad_rows, *destination.bad_rows))
    return rows


def nest(row: Mapping[str, Any]) -> dict[str, Any]:
    """A flat report row as people read it: each side's record, the differences with both
    values and the side with authority, the reasons as a list. Bad rows stay as they are."""
    if row.get("category") == "bad_row":
        return dict(row)

    def side(prefix: str) -> dict[str, Any] | None:
        if row.get(prefix + "local_id") is None:
            return None
        return {f: row.get(prefix + f) for f in SIDE_FIELDS}

    o, d = side("o_"), side("d_")
    differs = (row.get("differs") or "").split()
    return {
        "category": row["category"], "key": row.get("key"), "pair": row.get("pair"),
        "via": row.get("via"), "score": row.get("score"),
        "reasons": (row.get("reasons") or "").split(),
        "differences": [
            {"field": f, "origin": (o or {}).get(f), "destination": (d or {}).get(f),
             "authority": authority_of(f)}
            for f in COMPARED_FIELDS if f in differs],
        "origin": o, "destination": d,
        "subject": {f: row.get("s_" + f) for f in _SUBJECT},
    }


def rows_digest(rows: pl.DataFrame | Iterable[Mapping[str, Any]]) -> str:
    """sha256 over the rows' canonical JSON (RFC 8785: sorted keys, no whitespace), one per
    line, in order. A frame is written by polars (its NDJSON of sorted columns is that form,
    tests/reconcile/test_report.py proves it); stored rows are written by `json`."""
    digest = hashlib.sha256()
    if isinstance(rows, pl.DataFrame):
        ordered = rows.select(sorted(rows.columns))
        for start in range(0, ordered.height, _DIGEST_CHUNK):  # bounded memory per chunk
            # written as UTF-8 bytes straight into a buffer: no str of the chunk to encode
            buffer = io.BytesIO()
            ordered.slice(start, _DIGEST_CHUNK).write_ndjson(buffer)
            digest.update(buffer.getbuffer())
    else:
        for row in rows:
            digest.update(json.dumps(row, ensure_ascii=False, sort_keys=True,
                                     separators=(",", ":")).encode("utf-8") + b"\n")
    return "sha256:" + digest.hexdigest()


def _input(ledger: Ledger, in_scope: int, out_of_scope: int) -> dict[str, Any]:
    return {"label": ledger.label, "digest": ledger.digest, "rows": ledger.size,
            "in_scope": in_scope, "out_of_scope": out_of_scope,
            "bad_rows": len(ledger.bad_rows)}


def build_document(*, run_id: str, contract: Mapping[str, str], parties: Mapping[str, str],
                   params: Parameters, origin: Ledger, destination: Ledger, outcome: Outcome,
                   rows: Mapping[str, pl.DataFrame],
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
        "counts": {c: rows[c].height for c in CATEGORIES},
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
    """A party's signature over the same payload (what a party's client does): the hub core
    primitive hub.report_signing.countersign_report, kept here under its old name."""
    return countersign_report(envelope, key, kid, now=now)


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
