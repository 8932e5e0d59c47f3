"""Open the right connector for a mapping: through its kind (connectors.kinds), built-in or
plugin alike."""

from __future__ import annotations

from connectors.base import Connector
from connectors.kinds import connector_kind, kind_names
from connectors.mapping import SourceMapping

__all__ = ["open_connector", "kind_names"]


def open_connector(mapping: SourceMapping) -> Connector:
    """A connector for `mapping.source.kind`; no I/O happens until the first read.

    The kind's module is imported only now, so a hub using only ledgers never imports aiohttp
    or SQLAlchemy's async engine machinery. ConnectorConfigError for an unknown kind.
    """
    return connector_kind(mapping.source.kind).open(mapping)
