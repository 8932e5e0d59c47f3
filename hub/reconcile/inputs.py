"""Where a side's ledger comes from: a file handed in for this run, or the hub's index.

A file (XLSX, or CSV in UTF-8, GBK or GB18030) is read by the ledger connector through a
mapping (the same TOML mapping files as configured sources), so it gets the same header
detection, value conversion and data issues as a village ledger the hub syncs. A wrong encoding
or a missing required column stops the run before any work (`LedgerInvalid`, naming the file
and what to fix); a bad value in a row keeps the row and reports it (`BadRow`).

The index holds, per record of each configured source, the keyed hash and the routing values
the source supplied (hub.federation.ingest), which is all a reconciliation compares: reading a
side from the index asks no source system anything.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import polars_hash as plh
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.base import PartialDate
from connectors.errors import ConnectorConfigError, ConnectorError
from connectors.ledger import LedgerConnector
from connectors.ledger_columns import read_columns
from connectors.mapping import SourceMapping, load_mapping, parse_mapping
from hub.errors import RequestError
from hub.model import Side
from hub.reconcile.ledger import BadRow, Ledger, frame_digest, frame_of
from hub.reconcile.timing import Stopwatch
from hub.store.models import MemberRow, SourceLinkRow

__all__ = ["LedgerInvalid", "REQUIRED_FIELDS", "ledger_mapping", "read_ledger_file",
           "read_ledger_index"]

#: a ledger without these columns cannot be reconciled: the run stops before any work
REQUIRED_FIELDS: tuple[str, ...] = ("id_number", "name")


class LedgerInvalid(RequestError):
    """A ledger handed in cannot be read as given (encoding, columns, mapping): fix the file or
    the mapping, then start the run again. Nothing of the run was written."""

    code = "LEDGER_INVALID"


def ledger_mapping(mapping: Path | str | Mapping[str, Any], file: Path, *,
                   encoding: str | None = None) -> SourceMapping:
    """The mapping for a file handed in: a mapping file (path), its TOML text, or a parsed
    document, with [connection] pointed at `file` (format from its suffix). Only ledger
    mappings are accepted, and an entity may not name a file of its own: the file read is
    the one handed in, never a path the mapping chooses."""
    fmt = {".csv": "csv", ".xlsx": "xlsx"}.get(file.suffix.lower())
    if fmt is None:
        raise LedgerInvalid(f"{file.name}: not a .csv or .xlsx file")
    overrides: dict[str, Any] = {"file": str(file), "format": fmt}
    if encoding is not None:
        overrides["encoding"] = encoding
    try:
        if isinstance(mapping, Path):
            parsed = load_mapping(mapping, overrides=overrides, env={})
            raw: Mapping[str, Any] = tomllib.loads(mapping.read_text(encoding="utf-8"))
        else:
            raw = tomllib.loads(mapping) if isinstance(mapping, str) else mapping
            parsed = parse_mapping(raw, overrides=overrides, env={})
    except tomllib.TOMLDecodeError as exc:
        raise LedgerInvalid(f"the mapping is not valid TOML: {exc}") from None
    except ConnectorConfigError as exc:
        raise LedgerInvalid("the mapping is invalid: " + "; ".join(exc.problems)) from None
    if parsed.source.kind != "ledger":
        raise LedgerInvalid(f"the mapping's source kind is {parsed.source.kind!r}; a ledger "
                            "handed in needs kind = \"ledger\"")
    entities = raw.get("entities", {}) if isinstance(raw, Mapping) else {}
    if any(isinstance(e, Mapping) and "file" in e for e in entities.values()):
        raise LedgerInvalid("the mapping's entities may not name a file: the file read is "
                            "the one handed in")
    member = parsed.entities.get("member")
    if member is None:
        raise LedgerInvalid("the mapping has no [entities.member]")
    missing = [f for f in REQUIRED_FIELDS if f not in member.fields]
    if missing:
        raise LedgerInvalid(f"the mapping maps no column to {', '.join(missing)}: a "
                            "reconciliation needs the ID number and the name")
    return parsed


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, PartialDate):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_PLAIN = ("name", "gender", "status", "origin_org_id", "origin_region_code",
          "destination_region_code", "destination_org_id")


def _texts(series: pl.Series) -> pl.Series:
    """A column's values as text (dates as 2016-03), each distinct value converted once
    (the connector already returns text when asked, `read_columns(text=...)`)."""
    if series.dtype == pl.Utf8:
        return series
    cache: dict[int, str | None] = {}
    out: list[str | None] = []
    for value in series.to_list():
        key = id(value)
        if key not in cache:
            cache[key] = _text(value)
        out.append(cache[key])
    return pl.Series(series.name, out, dtype=pl.Utf8)


def _hashes(secret: bytes, values: pl.Series, prefix: str = "") -> pl.Series:
    """Keyed hashes (hub.federation.identity.keyed_hash: HMAC-SHA256, hex) of a column's
    non-null values, which the connector has already validated and normalised. Computed over
    the whole column in Rust (polars-hash), about five times faster than one `hmac.digest`
    call per row; a key that is not UTF-8 text (the plugin takes the key as text) falls back
    to the per-row call. tests/reconcile/test_keyed.py proves both agree."""
    text = values.cast(pl.Utf8)
    if prefix:
        text = pl.select(pl.lit(prefix) + text).to_series()
    try:
        key = secret.decode("utf-8")
    except UnicodeDecodeError:
        digest = hmac.digest
        return pl.Series(values.name, [
            digest(secret, v.encode("utf-8"), "sha256").hex() if v is not None else None
            for v in text.to_list()], dtype=pl.Utf8)
    return pl.DataFrame({"v": text}).select(
        plh.col("v").chash.hmac_sha256(key=key)).to_series().alias(values.name)


async def read_ledger_file(file: Path, mapping: SourceMapping, *, side: Side, secret: bytes,
                           owners: frozenset[str] = frozenset()) -> Ledger:
    """Read a whole ledger file (as columns, connectors.ledger_columns). `LedgerInvalid` for a
    file that cannot be read as mapped (a wrong encoding, a missing required column, not a
    workbook): raised before anything else."""
    connector = LedgerConnector(mapping)
    label = file.name
    watch = Stopwatch()
    try:
        read = await read_columns(connector, "member", text=_text)
    except ConnectorConfigError as exc:
        raise LedgerInvalid("; ".join(exc.problems) or str(exc)) from None
    except ConnectorError as exc:
        raise LedgerInvalid(f"{label}: {exc}") from None
    finally:
        await connector.aclose()
    required_columns = {mapping.entities["member"].fields[f].column for f in REQUIRED_FIELDS}
    for issue in read.issues:
        if issue.code == "MISSING_COLUMN" and issue.column in required_columns:
            raise LedgerInvalid(f"{label}: {issue.message}; add the column or fix the mapping")
    bad = tuple(BadRow(side.value, i.location.where, i.location.row, i.column, i.code,
                       i.message, i.local_id)
                for i in sorted(read.issues, key=lambda i: (i.location.row or 0, i.column or "")))
    watch.lap("parse_validate")
    n = len(read.local_ids)
    empty = pl.Series([None] * n, dtype=pl.Utf8)
    values = read.values
    ids = values["id_number"]
    phones = values.get("phone", empty)
    keys, phone_keys = _hashes(secret, ids), _hashes(secret, phones, "phone:")
    watch.lap("hash")
    columns: dict[str, Any] = {
        "source": pl.repeat(mapping.source.name, n, dtype=pl.Utf8, eager=True),
        "local_id": read.local_ids,
        "row": read.rows,
        "key": keys,
        "id_region": ids.str.slice(0, 6),
        "birth_date": _texts(values.get("birth_date", empty)),
        "phone": phone_keys,
        "phone_masked": pl.select(pl.when(phones.str.len_chars() >= 8).then(
            phones.str.slice(0, 3) + "****" + phones.str.slice(-4)).otherwise(
            pl.lit(None, pl.Utf8))).to_series(),
        "updated_at": _texts(values.get("updated_at", empty)),
    }
    for name in _PLAIN:
        columns[name] = _texts(values.get(name, empty))
    frame = frame_of(columns)
    watch.lap("frame")
    digest = await asyncio.to_thread(_file_digest, file)
    watch.lap("file_digest")
    return Ledger(side, label, digest, frame, bad, owners, watch.wall, watch.cpu)


def _file_digest(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


async def read_ledger_index(session: AsyncSession, sources: Sequence[str], *, side: Side,
                            owners: frozenset[str], label: str | None = None) -> Ledger:
    """The side's ledger as the index holds it: every member record of `sources` (linked or
    not), with the merged member row's origin region as the fallback for a record that names
    none (a destination platform often keeps only where the member lives now)."""
    rows = (await session.execute(
        select(SourceLinkRow.source, SourceLinkRow.local_id, SourceLinkRow.member_key,
               SourceLinkRow.routing, SourceLinkRow.content_hash,
               SourceLinkRow.source_updated_at, MemberRow.origin_region_code)
        .outerjoin(MemberRow, MemberRow.key == SourceLinkRow.member_key)
        .where(SourceLinkRow.entity == "member", SourceLinkRow.source.in_(sorted(sources)))
        .order_by(SourceLinkRow.source, SourceLinkRow.local_id))).all()
    columns: dict[str, list[Any]] = {c: [] for c in (
        "source", "local_id", "row", "key", "id_region", "birth_date", "phone", "phone_masked",
        "updated_at", *_PLAIN)}
    content = hashlib.sha256()
    for source, local_id, key, routing, content_hash, updated, member_origin in rows:
        routing = routing or {}
        content.update(f"{source}\t{local_id}\t{content_hash}\n".encode())
        columns["source"].append(source)
        columns["local_id"].append(local_id)
        columns["row"].append(None)
        columns["key"].append(key)
        columns["id_region"].append(member_origin)
        columns["birth_date"].append(routing.get("birth_date"))
        columns["phone"].append(routing.get("phone_hash"))
        columns["phone_masked"].append(None)  # the index keeps only the phone's keyed hash
        columns["updated_at"].append(updated.isoformat() if updated else None)
        for name in _PLAIN:
            columns[name].append(routing.get(name))
    frame = frame_of(columns)
    digest = "sha256:" + content.hexdigest() if rows else frame_digest(frame)
    return Ledger(side, label or "+".join(sorted(sources)) or "(no sources)", digest, frame,
                  (), owners)

