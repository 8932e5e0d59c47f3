"""The hub's one schema root: a single declarative `Base` and `MetaData` for every table.

Every table the hub owns (index, contracts, audit log, exchange ledger) is declared on this
`Base`, so one `MetaData` describes the whole database and Alembic (hub.store.migrations) can
compare it with a live database and migrate it. It lives in the lowest layer that has tables,
so contracts and audit import it; it imports none of them.

The naming convention gives every constraint a name, so migrations can refer to constraints
deterministically on every backend. It reproduces the names PostgreSQL gave the tables that
`create_all` made before migrations existed (`members_pkey`, `data_issues_fingerprint_key`,
`source_links_member_key_fkey`, SQLAlchemy's `ix_<table>_<column>` for indexes), so such a
database and a migrated one carry the same names. Constraints declared with a name keep it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

__all__ = ["Base", "NAMING_CONVENTION", "UtcDateTime"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


class UtcDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that always gives back an aware UTC datetime.

    PostgreSQL keeps the zone (timestamptz); SQLite stores the text without it and used to
    return a naive value, which then left the API without an offset (`Activity.startTime`
    was "2024-03-01T10:00:00"). Aware values are stored in UTC, naive ones are taken as UTC
    (the hub only ever writes UTC), and every value read comes back aware: a time without an
    offset cannot leave the store. The column type is unchanged (no migration)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value


class Base(DeclarativeBase):
    """Declarative root of every hub table; datetimes are always stored with their zone."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # SQLAlchemy reads this class attribute as configuration; it is never mutated
    type_annotation_map = {datetime: UtcDateTime()}  # noqa: RUF012
