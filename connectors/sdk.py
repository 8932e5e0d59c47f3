"""The public API for writing a connector kind (a plugin package, or a subclass in a hub).

Everything a kind needs, from one module whose names are a promise (`__all__`): the
`Connector` contract and its value types, `MappedConnector` (a connector driven by a mapping
file: describe, entity lookup and one `RecordBuilder` per entity come with it), `RecordBuilder`
(one raw row -> a canonical `Record` plus the `DataIssue`s found in it, the same for every
kind), the value converters it uses (`convert` and the parsers, raising `ValueProblem` with a
DataIssue code), `ConnectorKind` (how the kind is declared under the `yanxing.connectors`
entry points), the authenticators and paginators a kind picks by name or subclasses and
registers (connectors.auth, connectors.paging), and the errors to raise. docs/architecture.md,
"Connector kinds", walks through a kind; examples/yanxing-connector-sample/ is a complete one,
tested through the conformance kit.

The modules behind these names (`connectors._records`, `connectors._values`,
`connectors._mapped`) may be reorganised; these names stay.
"""

from __future__ import annotations

from connectors._mapped import MappedConnector
from connectors._records import MISSING, RecordBuilder, dig
from connectors._values import (
    ValueProblem,
    convert,
    is_blank,
    mask_raw,
    parse_datetime,
    parse_partial_date,
    raw_text,
)
from connectors.auth import (
    AUTHENTICATORS,
    Authenticator,
    authenticator_for,
    register_authenticator,
)
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
from connectors.kinds import COMMON_ENTITY_KEYS, ENTRY_POINT_GROUP, ConnectorKind
from connectors.mapping import EntityMapping, FieldMapping, Pagination, SourceMapping
from connectors.paging import PAGINATORS, PageRequest, Paginator, paginator_for, register_paginator

__all__ = [
    # declaring a kind
    "ConnectorKind", "ENTRY_POINT_GROUP", "COMMON_ENTITY_KEYS",
    # the contract and its values
    "Connector", "Capability", "ReadRequest", "ReadResult", "Record", "DataIssue", "Location",
    "PartialDate", "EntitySchema", "SourceSchema", "WriteRequest", "WriteResult",
    # a mapping-driven connector
    "MappedConnector", "SourceMapping", "EntityMapping", "FieldMapping",
    "RecordBuilder", "MISSING", "dig",
    # credentials and paging: pick one by name, or subclass and register your own
    "Authenticator", "AUTHENTICATORS", "authenticator_for", "register_authenticator",
    "Paginator", "PAGINATORS", "PageRequest", "Pagination", "paginator_for", "register_paginator",
    # value converters
    "convert", "ValueProblem", "parse_partial_date", "parse_datetime", "mask_raw", "is_blank",
    "raw_text",
    # errors
    "ConnectorError", "ConnectorConfigError", "SourceError", "SourceUnavailable",
    "SourceTimeout", "SourceRejected", "SourceInvalid", "NotSupported",
]
