"""Systems that already speak GraphQL: one query per entity, variables for paging, by-id
batches through a list argument or through aliases.

A `graphql` kind, registered through the `yanxing.connectors` entry points like every kind.
It is the REST connector's HTTP side (session, credentials, response size cap, error mapping)
with another request: a POST of `{"query", "variables"}` to `base_url`, the endpoint. A mapping:

```toml
[source]
kind = "graphql"
[connection]
base_url = "https://platform.example/graphql"
auth = { type = "bearer", token = "${PLATFORM_TOKEN}" }
[entities.member]
query = '''query($first: Int!, $after: String) {
  members(first: $first, after: $after) { nodes { id name } pageInfo { endCursor } } }'''
records = "members.nodes"
pagination = { type = "cursor", cursor_param = "after", size_param = "first",
               next = "members.pageInfo.endCursor", size = 50 }
by_keys = { param = "ids", max = 20 }
by_keys_query = 'query($ids: [ID!]!) { membersByIds(ids: $ids) { id name } }'
by_keys_records = "membersByIds"
# or, for a system with only a one-record field: aliases k0: member(id: $k0) { … } …
# by_keys = { param = "id", max = 20 }
# by_keys_alias = 'member(id: $id) { id name }'
```

Paths (`records`, `next`, `total`, field columns) are dotted paths inside `data`. An answer
with `errors` is SourceInvalid with the first message (a GraphQL server answers 200 for them).
A by-id batch answered short is asked again for the missing ids, halved down to one id; an id
still missing is a RECORD_NOT_FOUND issue, as for REST.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from datetime import UTC
from typing import Any, ClassVar

import aiohttp

from connectors._records import MISSING
from connectors._records import dig as _dig
from connectors.base import DataIssue, Location, ReadRequest, ReadResult, Record
from connectors.builtin_kinds import MAPPING_SCHEMA_ID
from connectors.errors import (
    ConnectorError,
    NotSupported,
    SourceInvalid,
    SourceRejected,
    SourceUnavailable,
)
from connectors.kinds import ConnectorKind
from connectors.mapping import EntityMapping, SourceMapping
from connectors.paging import PageRequest, paginator_for
from connectors.rest import RestConnector, map_client_error

__all__ = ["GraphqlConnector", "KIND", "alias_batch_query"]

_VARIABLE_TYPE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*!?$|^\[[A-Za-z_][A-Za-z0-9_]*!?\]!?$")


def alias_batch_query(selection: str, param: str, count: int, variable_type: str = "ID!") -> str:
    """One document asking `selection` (written with `$param`) once per id, under aliases
    k0…k{count-1}, each with its own variable: `query($k0: ID!) { k0: member(id: $k0) {…} }`."""
    pattern = re.compile(rf"\${re.escape(param)}\b")
    variables = ", ".join(f"$k{i}: {variable_type}" for i in range(count))
    fields = " ".join(f"k{i}: {pattern.sub(f'$k{i}', selection)}" for i in range(count))
    return f"query YanxingBatch({variables}) {{ {fields} }}"


class GraphqlConnector(RestConnector):
    """Reads entities from a GraphQL endpoint; HTTP, credentials and size cap as for REST."""

    kind: ClassVar[str] = "graphql"
    source_noun: ClassVar[str] = "system"

    async def _query(
        self, query: str, variables: Mapping[str, Any], where: str, *, partial: bool = False,
    ) -> Any:
        """POST one GraphQL request and return its `data`; every failure is a ConnectorError.
        `partial`: errors next to data are tolerated (an alias batch with unknown ids)."""
        params: dict[str, str] = {}
        headers: dict[str, str] = {"Accept": "application/json"}
        self.authenticate(params, headers)
        try:
            async with self._client().post(
                self._base_url, params=params or None, headers=headers,
                json={"query": query, "variables": dict(variables)},
            ) as response:
                if response.status in (401, 403):
                    raise SourceRejected(
                        self.name, f"{where}: HTTP {response.status}: check the credentials")
                if response.status >= 500:
                    raise SourceUnavailable(self.name, f"{where}: HTTP {response.status}")
                raw = await self._read_capped(response, where)
                status, encoding = response.status, response.charset or "utf-8"
        except ConnectorError:
            raise
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise map_client_error(self.name, exc, where) from None
        try:
            body = json.loads(raw.decode(encoding))
        except (ValueError, LookupError):
            raise SourceInvalid(self.name, f"{where}: the answer is not JSON") from None
        if not isinstance(body, Mapping):
            raise SourceInvalid(self.name, f"{where}: the answer is not a GraphQL response")
        errors, data = body.get("errors"), body.get("data")
        if errors and (data is None or not partial):
            first = errors[0].get("message") if isinstance(errors, list) and errors and \
                isinstance(errors[0], Mapping) else errors
            raise SourceInvalid(
                self.name, f"{where}: the system answered GraphQL errors: {str(first)[:200]}")
        if status >= 400:
            raise SourceRejected(self.name, f"{where}: HTTP {status}")
        if not isinstance(data, Mapping):
            raise SourceInvalid(self.name, f"{where}: the answer has no data")
        return data

    async def read(self, request: ReadRequest) -> ReadResult:
        entity = self._entity(request.entity)
        if request.keys is not None:
            return await self._read_keys(entity, request)
        variables: dict[str, Any] = {}
        if request.since is not None:
            if entity.changed_since is None or entity.changed_since.param is None:
                raise NotSupported(self.name, f"{entity.name} has no changed-since variable")
            since = request.since if request.since.tzinfo else request.since.replace(tzinfo=UTC)
            fmt = entity.changed_since.format
            variables[entity.changed_since.param] = (
                since.strftime(fmt) if fmt else since.isoformat())
        paging = entity.pagination
        size = max(request.page_size, 1)
        page = PageRequest()
        if paging is not None:
            paginator = paginator_for(paging)
            page = paginator.request(request.cursor, min(size, paging.size))
            variables |= page.values
        where = f"query {entity.name} {page.label}"
        data = await self._query(str(entity.options["query"]), variables, where)
        items = self._items(entity, data, where)
        issues: list[DataIssue] = []
        records = self._convert(entity, items, where, request.fields, issues)
        total = _count(_dig(data, paging.total)) if paging and paging.total else None
        found_next = _dig(data, paging.next) if paging and paging.next else None
        next_cursor = None if paging is None else paginator.next_cursor(
            page, len(items), total, None if found_next is MISSING else found_next)
        if next_cursor is not None and next_cursor == request.cursor:
            raise SourceInvalid(self.name, f"{where}: the next cursor is the same as this one")
        return ReadResult([r for r in records if r is not None], next_cursor, issues, total)

    async def _ask_ids(
        self, entity: EntityMapping, chunk: list[str], where: str,
    ) -> list[Any]:
        """The raw records one by-id request returns (list argument or aliases)."""
        assert entity.by_keys is not None
        options = entity.options
        if "by_keys_alias" in options:
            query = alias_batch_query(str(options["by_keys_alias"]), entity.by_keys.param,
                                      len(chunk), str(options.get("by_keys_type", "ID!")))
            data = await self._query(query, {f"k{i}": k for i, k in enumerate(chunk)}, where,
                                     partial=True)
            return [data.get(f"k{i}") for i in range(len(chunk)) if data.get(f"k{i}")]
        data = await self._query(str(options["by_keys_query"]),
                                 {entity.by_keys.param: chunk}, where)
        holder = EntityMapping(entity.name, entity.local_id, entity.fields,
                               records=str(options["by_keys_records"]))
        return self._items(holder, data, where)

    async def _read_keys(self, entity: EntityMapping, request: ReadRequest) -> ReadResult:
        if entity.by_keys is None:
            raise NotSupported(self.name, f"{entity.name} has no batch read by ids (by_keys)")
        unique = list(dict.fromkeys(request.keys or ()))
        size = self._batch_size(entity)
        issues: list[DataIssue] = []
        found: dict[str, Record] = {}
        whole: list[int] = []
        recovered: list[bool] = []

        async def ask(chunk: list[str]) -> None:
            where = f"query {entity.name} ({len(chunk)} ids)"  # never the ids: logs, issues
            items = await self._ask_ids(entity, chunk, where)
            for record in self._convert(entity, items, where, request.fields, issues):
                if record is not None and record.local_id in chunk:
                    found.setdefault(record.local_id, record)
            missing = [k for k in chunk if k not in found]
            if not missing:
                whole.append(len(chunk))
                return
            if len(chunk) == 1:
                return
            smaller = max(1, min(len(chunk) // 2, (len(chunk) - len(missing)) or len(chunk)))
            await asyncio.gather(
                *(ask(missing[i : i + smaller]) for i in range(0, len(missing), smaller)))
            if any(k in found for k in missing):
                recovered.append(True)

        await asyncio.gather(*(ask(unique[i : i + size]) for i in range(0, len(unique), size)))
        if recovered and whole:
            self._learned_batch[entity.name] = max(whole)
        for key in unique:
            if key not in found:
                issues.append(DataIssue(
                    self.name, entity.name, "RECORD_NOT_FOUND",
                    "asked by id (again alone after a shorter answer), the system did not return "
                    "this record: it may have been deleted there, or check the id mapping",
                    Location(f"query {entity.name} by id {key}"), entity.local_id, key,
                ))
        return ReadResult([found.get(k) for k in request.keys or ()], None, issues)


def _count(value: Any) -> int | None:
    """The source's own `total`, when it is a whole number."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _problems(doc: Mapping[str, Any]) -> list[str]:
    """What the schema cannot say: the variables the paging names appear in the query, one
    way of reading by id."""
    out: list[str] = []
    for name, spec in doc["entities"].items():
        base = f"$.entities.{name}"
        query = str(spec.get("query", ""))
        paging = spec.get("pagination") or {}
        for key in ("cursor_param", "size_param", "offset_param", "limit_param", "page_param"):
            variable = paging.get(key)
            if variable and not re.search(rf"\${re.escape(variable)}\b", query):
                out.append(f"{base}.pagination.{key}: the query declares no ${variable}")
        since = (spec.get("changed_since") or {}).get("param")
        if since and not re.search(rf"\${re.escape(since)}\b", query):
            out.append(f"{base}.changed_since.param: the query declares no ${since}")
        if (spec.get("changed_since") or {}).get("column"):
            out.append(f"{base}.changed_since.column: a graphql source uses param (a variable)")
        by_keys = spec.get("by_keys")
        ways = [k for k in ("by_keys_query", "by_keys_alias") if k in spec]
        if by_keys and len(ways) != 1:
            out.append(f"{base}.by_keys: give exactly one of by_keys_query (a list argument) "
                       "and by_keys_alias (one field per id, under aliases)")
        if not by_keys and ways:
            out.append(f"{base}.{ways[0]}: it needs by_keys (the variable name and max)")
        if by_keys and "by_keys_query" in spec:
            if "by_keys_records" not in spec:
                out.append(f"{base}.by_keys_records: the by_keys_query needs the path of its "
                           "record list")
            if not re.search(rf"\${re.escape(by_keys['param'])}\b", spec["by_keys_query"]):
                out.append(f"{base}.by_keys.param: the by_keys_query declares no "
                           f"${by_keys['param']}")
        if by_keys and "by_keys_alias" in spec and not re.search(
                rf"\${re.escape(by_keys['param'])}\b", spec["by_keys_alias"]):
            out.append(f"{base}.by_keys_alias: it uses no ${by_keys['param']} (by_keys.param)")
        kind_of = spec.get("by_keys_type")
        if kind_of is not None and not _VARIABLE_TYPE.match(kind_of):
            out.append(f"{base}.by_keys_type: {kind_of!r} is not a GraphQL variable type")
    return out


def _open(mapping: SourceMapping) -> GraphqlConnector:
    return GraphqlConnector(mapping)


_TEXT = {"type": "string", "minLength": 1}

KIND = ConnectorKind(
    name="graphql",
    open=_open,
    connection_schema={"$ref": f"{MAPPING_SCHEMA_ID}#/$defs/rest_connection"},
    entity_keys=frozenset({"records", "pagination", "by_keys", "changed_since", "index_only",
                           "query", "by_keys_query", "by_keys_records", "by_keys_alias",
                           "by_keys_type"}),
    entity_schema={
        "query": {**_TEXT, "description": "the GraphQL query listing the entity"},
        "by_keys_query": {**_TEXT, "description": "a query with a list argument of ids"},
        "by_keys_records": {"type": "string", "description": "where its records are in data"},
        "by_keys_alias": {**_TEXT, "description": "one record's field, asked once per id"},
        "by_keys_type": {**_TEXT, "description": "the GraphQL type of one id (default ID!)"},
    },
    required_entity_keys={"query": "the GraphQL query listing the entity"},
    check=_problems,
    title="a system that already speaks GraphQL",
)
