"""Connectors: adapters from source systems (REST platforms, ledgers, databases) to canonical
records.

This package stands alone (it never imports `hub`). Open a source with
`open_connector(load_mapping(path))`; the connector classes live in `connectors.rest`,
`connectors.ledger` and `connectors.sql`, the in-memory double in `connectors.mock`.
"""

from connectors.base import (
    Capability,
    Connector,
    DataIssue,
    EntitySchema,
    Location,
    PartialDate,
    ReadRequest,
    ReadResult,
    Record,
    SourceSchema,
    WriteRequest,
    WriteResult,
)
from connectors.errors import (
    ConnectorConfigError,
    ConnectorError,
    NotSupported,
    SourceError,
    SourceInvalid,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from connectors.factory import open_connector
from connectors.idcard import is_valid_id_number, normalise_id_number
from connectors.mapping import EntityMapping, FieldMapping, SourceMapping, load_mapping
from connectors.regions import resolve_region
from connectors.secret import Secret

__all__ = [
    "Capability",
    "Connector",
    "ConnectorConfigError",
    "ConnectorError",
    "DataIssue",
    "EntityMapping",
    "EntitySchema",
    "FieldMapping",
    "Location",
    "NotSupported",
    "PartialDate",
    "ReadRequest",
    "ReadResult",
    "Record",
    "Secret",
    "SourceError",
    "SourceInvalid",
    "SourceMapping",
    "SourceRejected",
    "SourceSchema",
    "SourceTimeout",
    "SourceUnavailable",
    "WriteRequest",
    "WriteResult",
    "is_valid_id_number",
    "load_mapping",
    "normalise_id_number",
    "open_connector",
    "resolve_region",
]
