"""The hub's member index: tables, engine/sessions and batched writes.

Persistence only: how source records become index rows and member rows is federation's
business (hub.federation.ingest, hub.federation.member_rows), one layer up.
"""

from hub.store.session import create_engine, create_session_factory, init_db
from hub.store.upsert import upsert

__all__ = [
    "create_engine",
    "create_session_factory",
    "init_db",
    "upsert",
]
