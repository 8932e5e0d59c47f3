"""The hub's member index: tables, engine/sessions, batched writes and read queries."""

from hub.store.members import recompute_members
from hub.store.queries import SourceSyncStatus, data_issues, sync_status
from hub.store.session import create_engine, create_session_factory, init_db
from hub.store.upsert import upsert

__all__ = [
    "create_engine",
    "create_session_factory",
    "init_db",
    "upsert",
    "recompute_members",
    "sync_status",
    "data_issues",
    "SourceSyncStatus",
]
