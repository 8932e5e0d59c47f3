"""A database as yanxing 0.1.0 left it: its tables made by `create_all`, no alembic_version.

0.1.0 had no migrations, so revision 0001_initial adopts such a database. Tables and columns
added by a later revision were not there yet: list each here when its revision is written.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.engine import Connection

from hub.store.base import NAMING_CONVENTION
from hub.tables import METADATA

#: tables created by revisions after 0001_initial
ADDED_AFTER_0_1_0 = frozenset({"registry_state", "seen_tokens", "exchange_entries",
                               "outbox_deliveries",
                               "reconciliations", "reconciliation_rows",
                               "reconciliation_row_blocks",
                               "reconciliation_decisions",
                               "study_records",
                               "exchange_letters", "exchange_transfers",
                               "exchange_tasks", "exchange_task_claims", "exchange_points"})

#: tables 0.1.0 had that a later revision dropped, as 0.1.0 declared them
REMOVED = sa.MetaData(naming_convention=NAMING_CONVENTION)
sa.Table(
    "exchange_checkins", REMOVED,   # 0003_exchange moved its rows to exchange_entries
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("member_key", sa.String(64), nullable=False, index=True),
    sa.Column("organization", sa.String(64), nullable=False),
    sa.Column("note", sa.Text()),
    sa.Column("party", sa.String(64), nullable=False),
    sa.Column("user", sa.String(128)),
    sa.Column("contracts", sa.Text(), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

#: columns added to 0.1.0's tables by revisions after 0001_initial (table -> columns)
COLUMNS_ADDED_AFTER_0_1_0: dict[str, tuple[str, ...]] = {
    "source_links": ("auxiliary", "extensions"),             # 0005_study
    "activities": ("by_report", "recorded_by"),              # 0007_workflows_a
    "attendance": ("recorded_by",),                          # 0007_workflows_a
}


def create_0_1_0_tables(connection: Connection) -> None:
    METADATA.create_all(connection, tables=[
        table for table in METADATA.sorted_tables if table.name not in ADDED_AFTER_0_1_0])
    REMOVED.create_all(connection)
    for table, columns in COLUMNS_ADDED_AFTER_0_1_0.items():
        for column in columns:
            connection.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
