"""Open the right connector for a mapping: the only place that knows kind -> class."""

from __future__ import annotations

from connectors.base import Connector
from connectors.errors import ConnectorConfigError
from connectors.mapping import SourceMapping

__all__ = ["open_connector", "CONNECTOR_KINDS"]

CONNECTOR_KINDS = ("rest", "ledger", "sql")


def open_connector(mapping: SourceMapping) -> Connector:
    """A connector for `mapping.source.kind`; no I/O happens until the first read.

    Imports are local so that a hub using only ledgers never imports aiohttp or SQLAlchemy's
    async engine machinery.
    """
    kind = mapping.source.kind
    if kind == "rest":
        from connectors.rest import RestConnector

        return RestConnector(mapping)
    if kind == "ledger":
        from connectors.ledger import LedgerConnector

        return LedgerConnector(mapping)
    if kind == "sql":
        from connectors.sql import SqlConnector

        return SqlConnector(mapping)
    raise ConnectorConfigError(
        f"unknown connector kind {kind!r} (known: {', '.join(CONNECTOR_KINDS)})"
    )
