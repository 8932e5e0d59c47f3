"""Initial schema: every table of yanxing 0.1.0, as `create_all` made them.

Revision ID: 0001_initial
Revises:
Create Date: 2026-12-01

A database made by `create_all` before migrations existed (tables present, no
`alembic_version`) is adopted: a table that already exists is left as it is (with its
indexes), only missing ones are created, then the database is at this revision. So a deployed
0.1.0 hub upgrades with `yanxing db upgrade` like a new one. Index names are SQLAlchemy's
`ix_<table>_<column>`; constraint names follow hub.store.base.NAMING_CONVENTION.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONTRACT_STATE = sa.table("contract_state", sa.column("id", sa.Integer),
                           sa.column("version", sa.Integer))


def _table(existing: set[str], name: str, *elements: sa.schema.SchemaItem,
           indexes: Mapping[str, list[str]] | None = None) -> bool:
    """Create table `name` and its indexes unless it exists already; True if created."""
    if name in existing:
        return False
    op.create_table(name, *elements)
    for index, columns in (indexes or {}).items():
        op.create_index(op.f(index), name, columns, unique=False)
    return True


def upgrade() -> None:
    # tables present before this revision ran (read once, not one query per table)
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    # the member index (hub.store.models)
    _table(
        existing, "members",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("origin_org_id", sa.String(length=64), nullable=True),
        sa.Column("origin_region_code", sa.String(length=6), nullable=True),
        sa.Column("destination_region_code", sa.String(length=6), nullable=True),
        sa.Column("destination_org_id", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("members_pkey")),
        indexes={
            "ix_members_destination_org_id": ["destination_org_id"],
            "ix_members_destination_region_code": ["destination_region_code"],
            "ix_members_name": ["name"],
            "ix_members_origin_org_id": ["origin_org_id"],
            "ix_members_origin_region_code": ["origin_region_code"],
            "ix_members_status": ["status"],
        },
    )
    _table(
        existing, "source_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("local_id", sa.String(length=128), nullable=False),
        sa.Column("member_key", sa.String(length=64), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("routing", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("match_name", sa.String(length=64), nullable=True),
        sa.Column("match_birth_date", sa.Date(), nullable=True),
        sa.Column("match_phone_hash", sa.String(length=64), nullable=True),
        sa.Column("confirmed_by", sa.String(length=128), nullable=True),
        sa.Column("side", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["member_key"], ["members.key"],
                                name=op.f("source_links_member_key_fkey"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("source_links_pkey")),
        sa.UniqueConstraint("source", "entity", "local_id", name="uq_source_link"),
        indexes={
            "ix_source_links_match": ["match_name", "match_birth_date"],
            "ix_source_links_member_key": ["member_key"],
        },
    )
    _table(
        existing, "organizations",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("secretary", sa.String(length=64), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("org_id", name=op.f("organizations_pkey")),
        indexes={
            "ix_organizations_kind": ["kind"],
            "ix_organizations_parent_id": ["parent_id"],
            "ix_organizations_region_code": ["region_code"],
        },
    )
    _table(
        existing, "activities",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("local_id", sa.String(length=128), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=True),
        sa.Column("expected", sa.Integer(), nullable=True),
        sa.Column("present", sa.Integer(), nullable=True),
        sa.Column("excused", sa.Integer(), nullable=True),
        sa.Column("online_count", sa.Integer(), nullable=True),
        sa.Column("guests", sa.Integer(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("activities_pkey")),
        sa.UniqueConstraint("source", "local_id", name="uq_activity_source"),
        indexes={
            "ix_activities_kind": ["kind"],
            "ix_activities_org_id": ["org_id"],
            "ix_activities_start_time": ["start_time"],
        },
    )
    _table(
        existing, "attendance",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("local_id", sa.String(length=128), nullable=False),
        sa.Column("activity_key", sa.String(length=200), nullable=False),
        sa.Column("member_key", sa.String(length=64), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("attendance_pkey")),
        sa.UniqueConstraint("source", "local_id", name="uq_attendance_source"),
        indexes={
            "ix_attendance_activity_key": ["activity_key"],
            "ix_attendance_member_key": ["member_key"],
        },
    )
    _table(
        existing, "data_issues",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("column", sa.String(length=100), nullable=True),
        sa.Column("local_id", sa.String(length=128), nullable=True),
        sa.Column("value", sa.String(length=300), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("data_issues_pkey")),
        sa.UniqueConstraint("fingerprint", name=op.f("data_issues_fingerprint_key")),
        sa.UniqueConstraint("source", "entity", "location", "row", "column", "code",
                            name="uq_data_issue"),
        indexes={
            "ix_data_issues_code": ["code"],
            "ix_data_issues_source": ["source"],
        },
    )
    _table(
        existing, "sync_state",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("records_seen", sa.Integer(), nullable=False),
        sa.Column("issues_seen", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pending_watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_code", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("source", "entity", name=op.f("sync_state_pkey")),
    )
    # contracts (hub.contracts.store)
    _table(
        existing, "contracts",
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("contract_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("parties", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("signers", sa.Text(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_by", sa.String(length=71), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revocation", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("digest", name=op.f("contracts_pkey")),
        indexes={
            "ix_contracts_contract_id": ["contract_id"],
            "ix_contracts_state": ["state"],
        },
    )
    created = _table(
        existing, "contract_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("contract_state_pkey")),
    )
    if created:
        op.bulk_insert(_CONTRACT_STATE, [{"id": 1, "version": 0}])
    # the audit log (hub.audit.log)
    _table(
        existing, "audit_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("audit_entries_pkey")),
        indexes={
            "ix_audit_entries_party": ["party"],
        },
    )
    _table(
        existing, "audit_members",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("member_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["seq"], ["audit_entries.seq"],
                                name=op.f("audit_members_seq_fkey")),
        sa.PrimaryKeyConstraint("seq", "member_key", name=op.f("audit_members_pkey")),
        indexes={
            "ix_audit_members_member_key": ["member_key"],
        },
    )
    _table(
        existing, "audit_checkpoints",
        sa.Column("size", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("signed", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("audit_checkpoints_pkey")),
    )
    # the exchange ledger (hub.contracts.exchange)
    _table(
        existing, "exchange_checkins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("member_key", sa.String(length=64), nullable=False),
        sa.Column("organization", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("party", sa.String(length=64), nullable=False),
        sa.Column("user", sa.String(length=128), nullable=True),
        sa.Column("contracts", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("exchange_checkins_pkey")),
        indexes={
            "ix_exchange_checkins_member_key": ["member_key"],
        },
    )


def downgrade() -> None:
    op.drop_table("exchange_checkins")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_members")
    op.drop_table("audit_entries")
    op.drop_table("contract_state")
    op.drop_table("contracts")
    op.drop_table("sync_state")
    op.drop_table("data_issues")
    op.drop_table("attendance")
    op.drop_table("activities")
    op.drop_table("organizations")
    op.drop_table("source_links")
    op.drop_table("members")
