"""Every table of the hub, in the one MetaData of hub.store.base.

Each package declares its tables on `hub.store.base.Base`; a table exists in `METADATA` once
its module is imported. This module (above every package with tables) imports them all, so
whatever needs the complete schema — autogenerating a migration (`yanxing db revision`), the
test that compares migrations with the models — sees every table, while the store layer never
imports the packages above it. A package adding a table module adds it here.
"""

from __future__ import annotations

import hub.audit.log
import hub.contracts.store
import hub.exchange.ledger
import hub.exchange.letters
import hub.exchange.outbox
import hub.exchange.tables
import hub.exchange.transfers
import hub.reconcile.store
import hub.store.models  # noqa: F401  (imported for their tables)
from hub.store.base import Base

__all__ = ["METADATA"]

METADATA = Base.metadata
