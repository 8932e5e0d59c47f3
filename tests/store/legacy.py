"""A database as yanxing 0.1.0 left it: its tables made by `create_all`, no alembic_version.

0.1.0 had no migrations, so revision 0001_initial adopts such a database. Tables added by a
later revision were not there yet: list each here when its revision is written.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from hub.tables import METADATA

#: tables created by revisions after 0001_initial
ADDED_AFTER_0_1_0 = frozenset({"registry_state", "seen_tokens", "exchange_tasks",
                               "exchange_task_claims", "exchange_points"})
#: columns a later revision added to a table of 0.1.0: (table, column)
COLUMNS_ADDED_AFTER_0_1_0 = frozenset({("activities", "by_report"),
                                       ("activities", "recorded_by"),
                                       ("attendance", "recorded_by")})


def create_0_1_0_tables(connection: Connection) -> None:
    METADATA.create_all(connection, tables=[
        table for table in METADATA.sorted_tables if table.name not in ADDED_AFTER_0_1_0])
    for table, column in sorted(COLUMNS_ADDED_AFTER_0_1_0):
        connection.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
