"""The kinds yanxing ships (rest, ledger, sql, mock), declared like any plugin's.

Each is a `ConnectorKind` named in pyproject.toml's `yanxing.connectors` entry points. The
connector classes are imported only when a mapping of that kind is opened, so a hub using
only ledgers never imports aiohttp or SQLAlchemy's async engine machinery. The checks below
are what the mapping schema cannot say about each kind's entities.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.kinds import ConnectorKind

if TYPE_CHECKING:
    from connectors.base import Connector
    from connectors.mapping import SourceMapping

__all__ = ["MAPPING_SCHEMA_ID", "REST", "LEDGER", "SQL", "MOCK", "fixed_param_problems"]

#: the `$id` of connectors/schemas/mapping.schema.json: kinds `$ref` its `$defs` through it
MAPPING_SCHEMA_ID = "https://yanxing.example/schema/mapping.schema.json"


def _ref(definition: str) -> Mapping[str, Any]:
    return {"$ref": f"{MAPPING_SCHEMA_ID}#/$defs/{definition}"}


def _entities(doc: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(f"$.entities.{name}", spec) for name, spec in doc["entities"].items()]


def fixed_param_problems(base: str, spec: Mapping[str, Any]) -> list[str]:
    """Fixed `params` must not set what the connector sets per request (paging, ids,
    changed-since): one of the two would silently win. An index-only entity has no by_keys."""
    out: list[str] = []
    by_keys = spec.get("by_keys") or {}
    if spec.get("index_only") and by_keys:
        out.append(
            f"{base}.index_only: the entity has by_keys, so it is not index-only; remove one"
        )
    paging = spec.get("pagination") or {}
    since = spec.get("changed_since") or {}
    listed = {paging.get(k) for k in ("cursor_param", "size_param", "page_param", "offset_param",
                                      "limit_param")} | {since.get("param")}
    for name in spec.get("params") or {}:
        if name in listed:
            out.append(f"{base}.params.{name}: the connector sets {name!r} itself (paging or "
                       "changed_since); remove it here")
    for name in by_keys.get("params") or {}:
        if name == by_keys.get("param"):
            out.append(f"{base}.by_keys.params.{name}: the connector sets {name!r} itself (the "
                       "ids); remove it here")
    return out


def _rest_problems(doc: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for base, spec in _entities(doc):
        since = spec.get("changed_since")
        if since and "param" not in since:
            out.append(f"{base}.changed_since: a rest source needs param (the query parameter)")
        out.extend(fixed_param_problems(base, spec))
    return out


def _ledger_problems(doc: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    conn = doc["connection"]
    fmt = conn.get("format") or Path(conn["file"]).suffix.lower().lstrip(".")
    if fmt not in ("xlsx", "csv"):
        out.append(
            f"$.connection.file: cannot tell the ledger format from {conn['file']!r}; "
            'set format = "xlsx" or "csv" (save .xls files as .xlsx)'
        )
    if "encoding" in conn and fmt == "xlsx":
        out.append("$.connection.encoding: only CSV ledgers have an encoding")
    return out


def _sql_problems(doc: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for base, spec in _entities(doc):
        since = spec.get("changed_since")
        if since and "column" not in since and "updated_at" not in spec["fields"]:
            out.append(f"{base}.changed_since: an sql source needs column, or map updated_at")
        if since and "param" in since:
            out.append(f"{base}.changed_since.param: sql sources use column, not param")
    return out


def _open_rest(mapping: SourceMapping) -> Connector:
    from connectors.rest import RestConnector

    return RestConnector(mapping)


def _open_ledger(mapping: SourceMapping) -> Connector:
    from connectors.ledger import LedgerConnector

    return LedgerConnector(mapping)


def _open_sql(mapping: SourceMapping) -> Connector:
    from connectors.sql import SqlConnector

    return SqlConnector(mapping)


def _open_mock(mapping: SourceMapping) -> Connector:
    """A MockConnector serving the JSON file `[connection] file` ({entity: [row, …]}): each
    row's mapped columns become the canonical fields as they are, unconverted (a double)."""
    from connectors.errors import ConnectorConfigError
    from connectors.mock import MockConnector

    path = Path(str(mapping.connection["file"]))
    path = path if path.is_absolute() else mapping.base_dir / path
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConnectorConfigError(f"{mapping.source.name}: cannot read {path}: {exc}") from None
    data = {
        name: [
            {"local_id": row[entity.local_id],
             **{f.field: row.get(f.column) for f in entity.fields.values()}}
            for row in rows.get(name, []) if isinstance(row, dict) and entity.local_id in row
        ]
        for name, entity in mapping.entities.items()
    }
    return MockConnector(mapping.source.name, data)


REST = ConnectorKind(
    name="rest", open=_open_rest, connection_schema=_ref("rest_connection"),
    entity_keys=frozenset({"path", "records", "pagination", "by_keys", "changed_since", "params",
                           "headers", "index_only", "method", "body"}),
    required_entity_keys={"path": "the URL path"},
    check=_rest_problems, title="a platform's JSON API over HTTP (REST)",
)
LEDGER = ConnectorKind(
    name="ledger", open=_open_ledger, connection_schema=_ref("ledger_connection"),
    entity_keys=frozenset({"path", "file", "sheet", "header_row"}),
    check=_ledger_problems, title="a spreadsheet ledger (XLSX or CSV)",
)
SQL = ConnectorKind(
    name="sql", open=_open_sql, connection_schema=_ref("sql_connection"),
    entity_keys=frozenset({"path", "changed_since"}),
    required_entity_keys={"path": "the table or view name"},
    check=_sql_problems, title="a database table or view (SQLAlchemy URL)",
)
MOCK = ConnectorKind(
    name="mock", open=_open_mock, connection_schema=_ref("mock_connection"),
    title="an in-memory double serving a JSON file (tests)",
)
