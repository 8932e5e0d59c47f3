"""Tables of the hub's member index (SQLAlchemy 2, works on SQLite and PostgreSQL).

The index holds what the hub needs to list, filter, page and route — never a raw ID number:
- `members`: one row per person, keyed by HMAC-SHA256(hub secret, normalised ID number), with
  routing attributes merged from all linked records by field authority (hub.federation.merge);
- `source_links`: one row per (source, local id) record seen, linked to a member when its ID
  number was valid, with the routing values that source supplied (so merges are recomputable);
- `organizations`, `activities`, `attendance`: non-personal records kept whole for listing;
- `study_records`: each course a member finished on a study platform (学习记录), linked to the
  member by the keyed hash of the ID number it came with (never the ID number itself);
- `data_issues`: every bad row or value found, kept visible until the source fixes it;
- `sync_state`: per source and entity, the resume cursor and changed-since watermark.
Member details (address, employer, phone...) are fetched live from the sources at query time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.base import Base

__all__ = [
    "Base",
    "MemberRow",
    "SourceLinkRow",
    "OrganizationRow",
    "ActivityRow",
    "AttendanceRow",
    "StudyRecordRow",
    "DataIssueRow",
    "SyncStateRow",
]


class MemberRow(Base):
    __tablename__ = "members"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(64), index=True)
    birth_date: Mapped[date | None] = mapped_column(Date)
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32), index=True)
    origin_org_id: Mapped[str | None] = mapped_column(String(64), index=True)
    origin_region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    destination_region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    destination_org_id: Mapped[str | None] = mapped_column(String(64), index=True)
    updated_at: Mapped[datetime | None]
    indexed_at: Mapped[datetime]


class SourceLinkRow(Base):
    __tablename__ = "source_links"
    __table_args__ = (
        UniqueConstraint("source", "entity", "local_id", name="uq_source_link"),
        Index("ix_source_links_match", "match_name", "match_birth_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32), default="member")
    local_id: Mapped[str] = mapped_column(String(128))
    #: None while the record has no valid ID number: an unlinked record awaiting confirmation
    member_key: Mapped[str | None] = mapped_column(
        ForeignKey("members.key", ondelete="SET NULL"), index=True
    )
    #: canonical fields this record supplied, e.g. ["name", "phone", "employer"]
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: routing values this source supplied (no ID number), to recompute the member row
    routing: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime]
    source_updated_at: Mapped[datetime | None]
    # candidate matching for unlinked records (name + birth date + phone), confirmed by a person
    match_name: Mapped[str | None] = mapped_column(String(64))
    match_birth_date: Mapped[date | None] = mapped_column(Date)
    match_phone_hash: Mapped[str | None] = mapped_column(String(64))
    #: set when a person confirmed that this unlinked record is that member
    confirmed_by: Mapped[str | None] = mapped_column(String(128))
    #: "origin" | "destination": the source's side, so routing merges need no configuration
    side: Mapped[str | None] = mapped_column(String(16))
    #: canonical member fields this source only fills where no system of record has a value
    #: (its mapping's `authority = "auxiliary"` / `field_authority`); None: none
    auxiliary: Mapped[list[str] | None] = mapped_column(JSON)
    #: the deployment's extension fields this record supplied (yanxing.toml [extensions.member])
    extensions: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class OrganizationRow(Base):
    __tablename__ = "organizations"

    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(32), index=True)
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    secretary: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    #: provenance: [{"system", "localId", "fetchedAt", "fields"}]
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime | None]


class ActivityRow(Base):
    __tablename__ = "activities"
    __table_args__ = (UniqueConstraint("source", "local_id", name="uq_activity_source"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # "{source}:{local_id}"
    source: Mapped[str] = mapped_column(String(64))
    local_id: Mapped[str] = mapped_column(String(128))
    org_id: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str | None] = mapped_column(String(40), index=True)
    title: Mapped[str | None] = mapped_column(String(300))
    start_time: Mapped[datetime | None] = mapped_column(index=True)
    online: Mapped[bool | None] = mapped_column(Boolean)
    expected: Mapped[int | None]
    present: Mapped[int | None]
    excused: Mapped[int | None]
    online_count: Mapped[int | None]
    guests: Mapped[int | None]
    fetched_at: Mapped[datetime]
    #: attended by a report to the origin branch instead (双报, 004); None from the sources
    by_report: Mapped[int | None]
    #: the party that recorded it through the exchange ledger (hub.exchange.orglife); None
    #: for a source's record (its owner is the source's)
    recorded_by: Mapped[str | None] = mapped_column(String(64))


class AttendanceRow(Base):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("source", "local_id", name="uq_attendance_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    local_id: Mapped[str] = mapped_column(String(128))
    activity_key: Mapped[str] = mapped_column(String(200), index=True)
    member_key: Mapped[str | None] = mapped_column(String(64), index=True)
    #: present | online | excused | absent | by_report
    mode: Mapped[str | None] = mapped_column(String(16))
    fetched_at: Mapped[datetime]
    #: as ActivityRow.recorded_by
    recorded_by: Mapped[str | None] = mapped_column(String(64))


class StudyRecordRow(Base):
    __tablename__ = "study_records"
    __table_args__ = (UniqueConstraint("source", "local_id", name="uq_study_record_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    local_id: Mapped[str] = mapped_column(String(128))
    #: None while the record's ID number gave no key (it stays unlinked, still counted)
    member_key: Mapped[str | None] = mapped_column(String(64), index=True)
    course: Mapped[str | None] = mapped_column(String(300))
    platform: Mapped[str | None] = mapped_column(String(100))
    hours: Mapped[float | None] = mapped_column(Float)
    completed_at: Mapped[datetime | None] = mapped_column(index=True)
    score: Mapped[float | None] = mapped_column(Float)
    fetched_at: Mapped[datetime]


class DataIssueRow(Base):
    __tablename__ = "data_issues"
    __table_args__ = (
        UniqueConstraint(
            "source", "entity", "location", "row", "column", "code", name="uq_data_issue"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: sha256 of (source, entity, location, row, column, code): the upsert key. uq_data_issue
    #: alone cannot be one because NULL row/column values never conflict in SQL.
    fingerprint: Mapped[str | None] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(40), index=True)
    message: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(300))
    row: Mapped[int | None]
    column: Mapped[str | None] = mapped_column(String(100))
    local_id: Mapped[str | None] = mapped_column(String(128))
    value: Mapped[str | None] = mapped_column(String(300))  # masked for sensitive fields
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    #: set when a full sync no longer sees the problem
    resolved_at: Mapped[datetime | None]


class SyncStateRow(Base):
    __tablename__ = "sync_state"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: resume point of an interrupted full sync (None when the last run completed)
    cursor: Mapped[str | None] = mapped_column(Text)
    #: newest source updated_at seen: the next changed-since sync starts here
    watermark: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="never")  # running | ok | failed
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    records_seen: Mapped[int] = mapped_column(Integer, default=0)
    issues_seen: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: of the run that owns `cursor`: "full" | "changed", its `since`, and the newest
    #: updated_at seen so far (becomes `watermark` when that run completes)
    mode: Mapped[str | None] = mapped_column(String(16))
    since: Mapped[datetime | None]
    pending_watermark: Mapped[datetime | None]
    last_error_code: Mapped[str | None] = mapped_column(String(40))
