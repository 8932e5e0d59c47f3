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

from datetime import datetime

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase

__all__ = ["Base", "NAMING_CONVENTION"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


class Base(DeclarativeBase):
    """Declarative root of every hub table; datetimes are always stored with their zone."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # SQLAlchemy reads this class attribute as configuration; it is never mutated
    type_annotation_map = {datetime: DateTime(timezone=True)}  # noqa: RUF012
