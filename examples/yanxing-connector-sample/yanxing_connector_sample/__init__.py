"""A `jsonl` connector kind: a system that exports its records as JSON lines, one file per
entity, one JSON object a line (a nightly export dropped on a share).

The whole kind is this module: the connector (a `MappedConnector`, so the mapping file does
the field mapping, codes and formats through `RecordBuilder`), and `KIND`, which pyproject.toml
declares under the entry-point group `yanxing.connectors`. The kind's `[connection]` schema and
its one entity key (`file`, the export of that entity) are validated like a built-in's.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from connectors.sdk import (
    ConnectorKind,
    DataIssue,
    EntityMapping,
    Location,
    MappedConnector,
    ReadRequest,
    ReadResult,
    Record,
    SourceInvalid,
    SourceMapping,
    SourceUnavailable,
    dig,
)

__all__ = ["JsonLinesConnector", "KIND"]


class JsonLinesConnector(MappedConnector):
    """Pages through an entity's JSON-lines export; reads by id from the same file."""

    kind: ClassVar[str] = "jsonl"
    source_noun: ClassVar[str] = "export"

    def __init__(self, mapping: SourceMapping) -> None:
        super().__init__(mapping, by_keys=True, changes=False)

    def _file(self, entity: EntityMapping) -> Path:
        path = Path(str(entity.options["file"]))
        return path if path.is_absolute() else self.mapping.base_dir / path

    def _rows(self, entity: EntityMapping, issues: list[DataIssue]) -> list[tuple[Any, Location]]:
        path = self._file(entity)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise SourceUnavailable(self.name, f"{path.name}: the export is not there") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceInvalid(self.name, f"{path.name}: {type(exc).__name__}") from None
        rows: list[tuple[Any, Location]] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            location = Location(path.name, number)
            try:
                row = json.loads(line)
            except ValueError:
                row = None
            if not isinstance(row, dict):
                issues.append(DataIssue(self.name, entity.name, "INVALID_VALUE",
                                        "the line is not a JSON object: fix or remove it",
                                        location))
                continue
            rows.append((row, location))
        return rows

    async def read(self, request: ReadRequest) -> ReadResult:
        entity = self._entity(request.entity)
        issues: list[DataIssue] = []
        rows = self._rows(entity, issues)
        builder = self._builders[entity.name]
        if request.keys is not None:
            wanted = set(request.keys)
            found: dict[str, Record] = {}
            for row, location in rows:
                if str(row.get(entity.local_id)) in wanted:
                    record, _ = builder.build(partial(dig, row), location, request.fields)
                    if record is not None:
                        found.setdefault(record.local_id, record)
            return ReadResult([found.get(k) for k in request.keys])
        start = int(request.cursor or 0)
        page = rows[start : start + max(request.page_size, 1)]
        issues = issues if start == 0 else []  # a bad line is reported once, with the first page
        records = builder.build_rows(((partial(dig, r), loc) for r, loc in page), request.fields,
                                     issues)
        end = start + len(page)
        return ReadResult([r for r in records if r is not None],
                          str(end) if end < len(rows) else None, issues, len(rows))


def _open(mapping: SourceMapping) -> JsonLinesConnector:
    return JsonLinesConnector(mapping)


KIND = ConnectorKind(
    name="jsonl",
    open=_open,
    connection_schema={
        "type": "object", "additionalProperties": False,
        "properties": {
            "timezone": {"$ref": "https://yanxing.example/schema/mapping.schema.json"
                                 "#/$defs/timezone"},
        },
    },
    entity_keys=frozenset({"file"}),
    entity_schema={"file": {"type": "string", "pattern": r"\.jsonl$",
                            "description": "the entity's export, relative to the mapping"}},
    required_entity_keys={"file": "the entity's JSON-lines export"},
    title="an export of JSON lines, one record a line",
)
