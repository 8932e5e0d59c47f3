"""Write one page of source records into the index: one batched statement per table.

Sync (hub.federation.sync) pages through a source and hands each page here, inside the
transaction that also advances the page cursor, so a page is either fully indexed or not at
all. A record that cannot be indexed becomes a DataIssue instead of stopping the page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import and_, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.base import DataIssue, Location, PartialDate, Record
from connectors.extensions import EXTENSION_PREFIX
from hub.clock import as_utc
from hub.federation.identity import hmac_sha256_hex, member_key, phone_hash
from hub.federation.member_rows import ROUTING_FIELDS, member_row, recompute_members
from hub.model import Side
from hub.store.models import (
    ActivityRow,
    AttendanceRow,
    DataIssueRow,
    MemberRow,
    OrganizationRow,
    SourceLinkRow,
    StudyRecordRow,
)
from hub.store.upsert import chunked, upsert

__all__ = [
    "PageOutcome",
    "write_members",
    "write_organizations",
    "write_activities",
    "write_attendance",
    "write_study_records",
    "write_issues",
    "issue_fingerprint",
    "source_updated_at",
]

_ORG_FIELDS = ("name", "kind", "region_code", "parent_id", "secretary", "contact_phone")
_ACTIVITY_FIELDS = (
    "org_id", "kind", "title", "start_time", "online",
    "expected", "present", "excused", "online_count", "guests",
)


@dataclass(slots=True)
class PageOutcome:
    """What one page did to the index."""

    records: int = 0
    linked: int = 0
    unlinked: int = 0
    newest: datetime | None = None
    issues: list[DataIssue] = field(default_factory=list)


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def source_updated_at(record: Record) -> datetime | None:
    return _utc(record.values.get("updated_at"))


#: the text `_json_default` gives for a value of exactly these types, looked up by type: a
#: record holds two or three such values (dates, `updated_at`), each a call of the encoder's
#: `default`, and the isinstance chain cost as much as making the text
_DEFAULT_TEXT: dict[type, Callable[[Any], str]] = {
    PartialDate: PartialDate.__str__, datetime: datetime.isoformat, date: date.isoformat,
}


def _json_default(value: Any) -> str:
    text = _DEFAULT_TEXT.get(type(value))
    if text is not None:
        return text(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)  # a PartialDate's str is its ISO text at its precision


#: json.dumps(..., sort_keys=True, default=_json_default) built once: dumps with arguments makes
#: a new encoder for every call, a fifth of the hash's cost
_CONTENT_JSON = json.JSONEncoder(sort_keys=True, default=_json_default)
#: the C encoder that JSONEncoder.encode makes for every call, made once (no circular-reference
#: bookkeeping: a record's values are flat): the same text, half the cost
_CONTENT_ENCODE = (
    None if c_make_encoder is None
    else c_make_encoder(None, _json_default, encode_basestring_ascii, None, ": ", ", ", True,
                        False, True)
)


def _content_text(values: dict[str, Any]) -> str:
    if _CONTENT_ENCODE is None:  # pragma: no cover - CPython always has the C encoder
        return _CONTENT_JSON.encode(values)
    return "".join(_CONTENT_ENCODE(values, 0))


def _content_hash(secret: bytes, record: Record, texts: dict[str, str] | None = None) -> str:
    """`texts`: values of the record as the JSON `default` would write them, when the caller
    made them already (the same text, one call of `default` fewer)."""
    # keyed, because the values include the ID number: a plain hash could be brute-forced
    values = dict(record.values)
    if texts:
        values.update(texts)
    return hmac_sha256_hex(secret, _content_text(values).encode("utf-8"))


def _bad_row(record: Record, exc: Exception) -> DataIssue:
    return DataIssue(
        source=record.source,
        entity=record.entity,
        code="INVALID_VALUE",
        message=f"record could not be indexed: {type(exc).__name__}",  # no values: may be personal
        location=record.location or Location(f"{record.entity}/{record.local_id}"),
        local_id=record.local_id,
    )


def _partial_date(value: Any) -> PartialDate | None:
    if value is None or isinstance(value, PartialDate):
        return value
    if isinstance(value, datetime):
        return PartialDate.from_date(value.date())
    if isinstance(value, date):
        return PartialDate.from_date(value)
    if isinstance(value, str):
        return PartialDate.parse_iso(value)
    raise TypeError(f"expected a date, got {type(value).__name__}")


#: a record's field names -> its extension fields' names: every record of a page has the
#: same names, so they are scanned once a page shape rather than once a record
_EXTENSION_NAMES: dict[tuple[str, ...], list[str]] = {}


def _extension_names(values: Mapping[str, Any]) -> list[str]:
    keys = tuple(values)
    names = _EXTENSION_NAMES.get(keys)
    if names is None:
        if len(_EXTENSION_NAMES) >= 64:  # many shapes (sparse records): bounded all the same
            _EXTENSION_NAMES.clear()
        names = _EXTENSION_NAMES[keys] = [n for n in keys if n.startswith(EXTENSION_PREFIX)]
    return names


def _extensions(record: Record) -> dict[str, Any] | None:
    """The extension values a member record supplied, JSON-ready (dates as ISO text)."""
    out: dict[str, Any] = {}
    names = _extension_names(record.values)
    if not names:  # most records: no extension field at all
        return None
    for name in names:
        value = record.values[name]
        if value is None:
            continue
        if isinstance(value, (PartialDate, date, datetime)):
            value = _json_default(value)
        elif not isinstance(value, (str, int, float, bool)):
            raise TypeError(f"extension {name} has a {type(value).__name__}")
        out[name[len(EXTENSION_PREFIX):]] = value
    return out or None


def _auxiliary_column(auxiliary: frozenset[str]) -> list[str] | None:
    """The link's `auxiliary` column: the routing keeps the phone as its keyed hash, so an
    auxiliary phone makes its hash auxiliary too (one list for a whole page)."""
    return sorted(auxiliary | ({"phone_hash"} if "phone" in auxiliary else set())) or None


#: the routing values a link takes from the record as they are (after name, birth date and
#: the phone's hash), in ROUTING_FIELDS order
_ROUTED_AS_IS = ROUTING_FIELDS[3:]


def _member_link(
    record: Record, side: Side, secret: bytes, now: datetime,
    auxiliary: frozenset[str] = frozenset(), auxiliary_column: list[str] | None = None,
) -> tuple[dict[str, Any], bool]:
    """The source_links row for a member record, and whether the ID number gave a key.
    `auxiliary_column`: `_auxiliary_column(auxiliary)`, when the caller made it once.

    Run for every member of every sync, so written for speed; the steps (and so which error a
    bad record raises first) are those of the plain version tests/federation/test_member_link.py
    keeps, and it checks both give the same row."""
    values = record.values
    get = values.get
    key: str | None = None
    raw_id = get("id_number")
    if isinstance(raw_id, str) and raw_id.strip():
        try:
            key = member_key(secret, raw_id)
        except ValueError:
            key = None  # the connector reports INVALID_ID_NUMBER; the record stays unlinked
    birth = raw_birth = get("birth_date")
    if birth is not None and type(birth) is not PartialDate:
        birth = _partial_date(birth)
    phone = get("phone")
    name = get("name")
    # ROUTING_FIELDS in order, the None values left out (the stored JSON keeps this order)
    routing: dict[str, Any] = {}
    if name is not None:
        routing["name"] = name
    birth_text: str | None = None
    if birth is not None:
        routing["birth_date"] = birth_text = str(birth)
    phone_key = phone_hash(secret, str(phone)) if phone else None
    if phone_key is not None:
        routing["phone_hash"] = phone_key
    for routed in _ROUTED_AS_IS:
        value = get(routed)
        if value is not None:
            routing[routed] = value
    for routed, value in routing.items():
        if not isinstance(value, str):
            raise TypeError(f"{routed} must be text")
    row = {
        "source": record.source,
        "entity": "member",
        "local_id": record.local_id,
        "member_key": key,
        "fields": sorted([k for k, v in values.items() if v is not None]),  # record.fields
        "routing": routing,
        # a PartialDate's text is what the JSON default writes for it
        "content_hash": _content_hash(
            secret, record,
            {"birth_date": birth_text} if birth_text is not None and birth is raw_birth
            else None),
        "fetched_at": now,
        "source_updated_at": source_updated_at(record),
        "match_name": name or None,
        "match_birth_date": birth.to_date() if birth is not None else None,
        "match_phone_hash": phone_key,
        "side": side.value,
        "auxiliary": _auxiliary_column(auxiliary) if auxiliary_column is None
        else auxiliary_column,
        "extensions": _extensions(record),
    }
    return row, key is not None


def _keep_confirmed(table: Any, excluded: Any) -> Any:
    """A person's confirmation outlives re-syncs that still bring no valid ID number."""
    return case(
        (
            and_(table.c.confirmed_by.is_not(None), excluded.member_key.is_(None)),
            table.c.member_key,
        ),
        else_=excluded.member_key,
    )


def _last_per_key(rows: Iterable[dict[str, Any]], *key: str) -> list[dict[str, Any]]:
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        unique[tuple(row[k] for k in key)] = row
    return list(unique.values())


async def write_members(
    session: AsyncSession,
    records: Sequence[Record],
    *,
    side: Side,
    secret: bytes,
    now: datetime,
    auxiliary: frozenset[str] = frozenset(),
) -> PageOutcome:
    """Upsert the links of a page of member records and recompute the members they touch.
    `auxiliary`: the member fields this source only fills in (its mapping's authority)."""
    out = PageOutcome()
    rows: list[dict[str, Any]] = []
    auxiliary_column = _auxiliary_column(auxiliary)
    for record in records:
        try:
            row, _ = _member_link(record, side, secret, now, auxiliary, auxiliary_column)
        except (TypeError, ValueError) as exc:
            out.issues.append(_bad_row(record, exc))
            continue
        rows.append(row)
        stamp = row["source_updated_at"]
        if stamp is not None and (out.newest is None or stamp > out.newest):
            out.newest = stamp
    rows = _last_per_key(rows, "local_id")
    if not rows:
        return out
    source = rows[0]["source"]
    before: dict[str, tuple[str | None, str | None]] = {}
    for part in chunked([r["local_id"] for r in rows], 1000):
        result = await session.execute(
            select(SourceLinkRow.local_id, SourceLinkRow.member_key, SourceLinkRow.confirmed_by)
            .where(SourceLinkRow.source == source, SourceLinkRow.entity == "member")
            .where(SourceLinkRow.local_id.in_(part))
        )
        before.update({lid: (k, by) for lid, k, by in result.all()})
    new_keys = sorted({r["member_key"] for r in rows if r["member_key"]})
    known: set[str] = set()
    for part in chunked(new_keys, 1000):
        result = await session.execute(select(MemberRow.key).where(MemberRow.key.in_(part)))
        known.update(result.scalars())
    # a member first seen on this page has no links but this page's rows (a link needs its
    # member row), so its row follows from them without reading them back: written once, in
    # full, before its links; members already indexed are recomputed from all their links
    first_seen: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["member_key"] and row["member_key"] not in known:
            first_seen.setdefault(row["member_key"], []).append(row)
    await upsert(
        session,
        MemberRow,
        [member_row(key, links, now) for key, links in first_seen.items()],
        key=["key"],
    )
    await upsert(
        session,
        SourceLinkRow,
        rows,
        key=["source", "entity", "local_id"],
        update=[c for c in rows[0] if c not in ("source", "entity", "local_id", "member_key")],
        expressions={"member_key": _keep_confirmed},
    )
    affected = (set(new_keys) - first_seen.keys()) | {k for k, _ in before.values() if k}
    await recompute_members(session, affected, now=now)
    for row in rows:
        old_key, confirmed_by = before.get(row["local_id"], (None, None))
        linked = row["member_key"] is not None or (confirmed_by is not None and old_key is not None)
        out.linked += linked
        out.unlinked += not linked
    out.records = len(rows)
    return out


def _provenance(record: Record) -> dict[str, Any]:
    return {
        "system": record.source,
        "localId": record.local_id,
        "fetchedAt": record.fetched_at.isoformat(),
        "fields": sorted(record.fields),
    }


async def write_organizations(
    session: AsyncSession, records: Sequence[Record], *, now: datetime
) -> PageOutcome:
    """Organisations share one code across systems: merge each into the row others built,
    newest value per field, and keep one provenance entry per system."""
    out = PageOutcome()
    fresh: dict[str, tuple[Record, datetime | None]] = {}
    for record in records:
        try:
            stamp = source_updated_at(record)
        except (TypeError, ValueError) as exc:
            out.issues.append(_bad_row(record, exc))
            continue
        fresh[record.local_id] = (record, stamp)
        if stamp is not None and (out.newest is None or stamp > out.newest):
            out.newest = stamp
    if not fresh:
        return out
    existing: dict[str, OrganizationRow] = {}
    for part in chunked(sorted(fresh), 1000):
        result = await session.execute(
            select(OrganizationRow).where(OrganizationRow.org_id.in_(part))
        )
        existing.update({row.org_id: row for row in result.scalars()})
    rows = []
    for org_id, (record, stamp) in fresh.items():
        old = existing.get(org_id)
        old_stamp = as_utc(old.updated_at) if old else None
        newer = old is None or old_stamp is None or (stamp is not None and stamp >= old_stamp)
        row: dict[str, Any] = {"org_id": org_id}
        for name in _ORG_FIELDS:
            new_value = record.values.get(name)
            old_value = getattr(old, name) if old else None
            row[name] = (
                new_value if (newer and new_value is not None) or old_value is None else old_value
            )
        others = [p for p in (old.sources if old else []) if p.get("system") != record.source]
        row["sources"] = sorted([*others, _provenance(record)], key=lambda p: p["system"])
        row["updated_at"] = max((s for s in (stamp, old_stamp) if s is not None), default=None)
        rows.append(row)
    for loaded in existing.values():
        session.expunge(loaded)  # the upsert below replaces these rows behind the ORM's back
    await upsert(session, OrganizationRow, rows, key=["org_id"])
    out.records = len(rows)
    return out


async def write_activities(
    session: AsyncSession, records: Sequence[Record], *, now: datetime
) -> PageOutcome:
    out = PageOutcome()
    rows: list[dict[str, Any]] = []
    for record in records:
        try:
            row = {f: record.values.get(f) for f in _ACTIVITY_FIELDS}
            row["start_time"] = _utc(row["start_time"])
            stamp = source_updated_at(record)
        except (TypeError, ValueError) as exc:
            out.issues.append(_bad_row(record, exc))
            continue
        row.update(
            key=f"{record.source}:{record.local_id}",
            source=record.source,
            local_id=record.local_id,
            fetched_at=now,
        )
        rows.append(row)
        if stamp is not None and (out.newest is None or stamp > out.newest):
            out.newest = stamp
    rows = _last_per_key(rows, "key")
    await upsert(session, ActivityRow, rows, key=["key"])
    out.records = len(rows)
    return out


async def write_attendance(
    session: AsyncSession, records: Sequence[Record], *, secret: bytes, now: datetime
) -> PageOutcome:
    out = PageOutcome()
    rows: list[dict[str, Any]] = []
    for record in records:
        values = record.values
        activity_id = values.get("activity_id")
        if activity_id is None:
            out.issues.append(_bad_row(record, KeyError("activity_id")))
            continue
        raw_id = values.get("member_id_number")
        key: str | None = None
        if isinstance(raw_id, str) and raw_id.strip():
            try:
                key = member_key(secret, raw_id)
            except ValueError:
                key = None
        rows.append(
            {
                "source": record.source,
                "local_id": record.local_id,
                "activity_key": f"{record.source}:{activity_id}",
                "member_key": key,
                "mode": values.get("mode"),
                "fetched_at": now,
            }
        )
        out.linked += key is not None
        out.unlinked += key is None
    rows = _last_per_key(rows, "source", "local_id")
    await upsert(session, AttendanceRow, rows, key=["source", "local_id"])
    out.records = len(rows)
    return out


async def write_study_records(
    session: AsyncSession, records: Sequence[Record], *, secret: bytes, now: datetime
) -> PageOutcome:
    """Index study records (学习记录) by the keyed hash of the member's ID number; a record
    whose ID number gives no key is kept unlinked (counted, never shown on a member)."""
    out = PageOutcome()
    rows: list[dict[str, Any]] = []
    for record in records:
        values = record.values
        raw_id = values.get("member_id_number")
        key: str | None = None
        if isinstance(raw_id, str) and raw_id.strip():
            try:
                key = member_key(secret, raw_id)
            except ValueError:
                key = None
        try:
            hours, score = values.get("hours"), values.get("score")
            for number in (hours, score):
                if number is not None and (isinstance(number, bool)
                                           or not isinstance(number, (int, float))):
                    raise TypeError("hours and score must be numbers")
            row = {
                "source": record.source,
                "local_id": record.local_id,
                "member_key": key,
                "course": values.get("course"),
                "platform": values.get("platform"),
                "hours": None if hours is None else float(hours),
                "completed_at": _utc(values.get("completed_at")),
                "score": None if score is None else float(score),
                "fetched_at": now,
            }
            stamp = source_updated_at(record)
        except (TypeError, ValueError) as exc:
            out.issues.append(_bad_row(record, exc))
            continue
        rows.append(row)
        out.linked += key is not None
        out.unlinked += key is None
        if stamp is not None and (out.newest is None or stamp > out.newest):
            out.newest = stamp
    rows = _last_per_key(rows, "source", "local_id")
    await upsert(session, StudyRecordRow, rows, key=["source", "local_id"])
    out.records = len(rows)
    return out


def issue_fingerprint(issue: DataIssue) -> str:
    parts = [issue.source, issue.entity, issue.location.where, str(issue.location.row),
             str(issue.column), issue.code]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


async def write_issues(session: AsyncSession, issues: Sequence[DataIssue], *, now: datetime) -> int:
    """Upsert data issues by fingerprint.

    first_seen is kept, last_seen bumped, and an issue reopened if it was resolved.
    """
    rows = _last_per_key(
        (
            {
                "fingerprint": issue_fingerprint(i),
                "source": i.source,
                "entity": i.entity,
                "code": i.code,
                "message": i.message[:2000],
                "location": i.location.where[:300],
                "row": i.location.row,
                "column": i.column,
                "local_id": i.local_id,
                "value": i.value[:300] if i.value is not None else None,
                "first_seen": now,
                "last_seen": now,
                "resolved_at": None,
            }
            for i in issues
        ),
        "fingerprint",
    )
    await upsert(
        session,
        DataIssueRow,
        rows,
        key=["fingerprint"],
        update=["message", "local_id", "value", "last_seen", "resolved_at"],
    )
    return len(rows)
