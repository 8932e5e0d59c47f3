"""Load a source's mapping file (TOML) into frozen, typed objects, or report every problem.

A mapping file says how one system's names, codes, date formats and paging map to the hub's
canonical fields (docs/architecture.md, "Mapping files"), so most systems need no code. It is
read once at startup: `${ENV}` / `${ENV:-default}` references are substituted, the hub
config's per-source connection overrides are merged in, the result is checked against
the JSON Schema (packaged as `connectors/schemas/mapping.schema.json`, published as
`schema/mapping.schema.json`) and then semantically (known fields, code tables, formats), and
every problem is reported at once with the file and the JSON path, as an operator fixing a
file wants to see them all in one run.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema

from connectors.canonical import ENUMS, FIELD_TYPES, PAYLOAD_PREFIX, WRITE_VALUES
from connectors.errors import ConnectorConfigError
from connectors.kinds import COMMON_ENTITY_KEYS, ConnectorKind, connector_kind
from connectors.secret import Secret

__all__ = [
    "SCHEMA_RESOURCE",
    "SourceInfo",
    "FieldMapping",
    "Pagination",
    "ByKeys",
    "ChangedSince",
    "EntityMapping",
    "WriteField",
    "WriteMapping",
    "SourceMapping",
    "load_mapping",
    "parse_mapping",
    "mapping_schema",
    "clear_validator_cache",
]

#: package data, read through importlib.resources so an installed wheel finds it (a path
#: relative to the checkout does not exist there)
SCHEMA_RESOURCE: Traversable = resources.files("connectors") / "schemas" / "mapping.schema.json"

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
#: connection keys whose values are credentials: wrapped in Secret, and in a mapping file they
#: may only be written as ${ENV} references (the file is committed; the value is not)
_SECRET_AUTH_KEYS = ("token", "key", "secret", "client_secret")
_URL_PASSWORD = re.compile(r"^[^:/]+://[^/@:]*:([^@/]+)@")


_NO_STRINGS: Mapping[str, str] = MappingProxyType({})


_NO_FIELDS: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """[source]: who the system is; `side` decides field authority in hub.federation.merge."""

    name: str
    kind: str
    title: str
    side: str
    #: "record" (a system of record) or "auxiliary" (fills gaps, never overrides one)
    authority: str = "record"
    #: canonical member field -> "record" | "auxiliary", overriding `authority` for it
    field_authority: Mapping[str, str] = field(default_factory=lambda: _NO_STRINGS)

    def auxiliary_fields(self) -> frozenset[str]:
        """The canonical member fields this system only fills in where no system of record
        has a value (hub.federation.merge). `updated_at` is never one: it says when a record
        changed, and a member's is the newest of all its records."""
        return frozenset(
            name for name in FIELD_TYPES["member"]
            if name != "updated_at"
            and self.field_authority.get(name, self.authority) == "auxiliary")


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """One canonical field: the source column (a dotted path in JSON) and how to convert it."""

    field: str
    column: str
    type: str
    codes: Mapping[str, Any] | None = None
    formats: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Pagination:
    """How a REST entity pages: "cursor", "page" (page/size) or "offset"."""

    type: str
    size: int = 200
    cursor_param: str | None = None
    next: str | None = None
    size_param: str | None = None
    page_param: str | None = None
    first: int = 1
    offset_param: str | None = None
    limit_param: str | None = None
    total: str | None = None


_NO_OPTIONS: Mapping[str, Any] = MappingProxyType({})
_NO_WRITES: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ByKeys:
    """A REST batch read by local ids: `?{param}=a,b,c`, at most `max` per request (a source
    that answers fewer is re-asked for the rest, see connectors.rest). `params` and `headers`
    are sent unchanged with every by-id request."""

    param: str
    separator: str = ","
    max: int = 100
    path: str | None = None
    params: Mapping[str, str] = field(default_factory=lambda: _NO_STRINGS)
    headers: Mapping[str, str] = field(default_factory=lambda: _NO_STRINGS)
    #: "GET" (ids in the query) or "POST" (ids in a `body`: "json" sends them as a list)
    method: str = "GET"
    body: str | None = None


@dataclass(frozen=True, slots=True)
class ChangedSince:
    """Changed-since reads: a REST query `param` (formatted with `format`) or an SQL `column`."""

    param: str | None = None
    column: str | None = None
    format: str | None = None


@dataclass(frozen=True, slots=True)
class EntityMapping:
    """[entities.<name>]: where the entity lives in the source and its field mappings."""

    name: str
    local_id: str
    fields: Mapping[str, FieldMapping]
    path: str | None = None
    records: str | None = None
    pagination: Pagination | None = None
    by_keys: ByKeys | None = None
    changed_since: ChangedSince | None = None
    required: tuple[str, ...] = ()
    file: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    #: fixed query parameters and headers of every list (page) request of a REST entity
    params: Mapping[str, str] = field(default_factory=lambda: _NO_STRINGS)
    headers: Mapping[str, str] = field(default_factory=lambda: _NO_STRINGS)
    #: a REST entity the system cannot read by id: the hub only indexes it, and says so on
    #: purpose (the conformance kit fails a REST member entity without by_keys otherwise)
    index_only: bool = False
    #: the entity keys only this source's kind reads (its `ConnectorKind.entity_schema`), as
    #: written in the mapping: a plugin kind's connector finds its own settings here
    options: Mapping[str, Any] = field(default_factory=lambda: _NO_OPTIONS)
    #: REST: "GET", or "POST" with the paging and changed-since parameters in a `body`
    method: str = "GET"
    body: str | None = None
    #: the deployment's extension fields (connectors.extensions): name -> mapping; each
    #: FieldMapping's `field` is the record key ("ext.<name>")
    extensions: Mapping[str, FieldMapping] = field(default_factory=lambda: _NO_FIELDS)


@dataclass(frozen=True, slots=True)
class WriteField:
    """One value of a write: `name` (a `WRITE_VALUES` name or `payload.<name>`) goes into
    `column` (a JSON key, dotted for nesting, or a table/ledger column); a time value is
    written with `format` (strftime, in the source's timezone) or as ISO 8601."""

    name: str
    column: str
    format: str | None = None


@dataclass(frozen=True, slots=True)
class WriteMapping:
    """[write.<action>]: how one action's ledger entries reach this system (write-back).

    REST: `method` `path` with the fields as a JSON body and the idempotency key in the
    `idempotency_header`; SQL: an INSERT into `table`, idempotent by the unique `key_column`;
    ledger: a row appended to `file` (a file the hub owns), idempotent by `key_column`."""

    action: str
    fields: tuple[WriteField, ...]
    method: str = "POST"
    path: str | None = None
    idempotency_header: str = "Idempotency-Key"
    result_id: str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: _NO_STRINGS)
    table: str | None = None
    key_column: str | None = None
    file: str | None = None
    sheet: str | None = None
    encoding: str = "utf-8-sig"


@dataclass(frozen=True, slots=True)
class SourceMapping:
    """A validated mapping file. `connection` holds Secrets for credentials."""

    source: SourceInfo
    connection: Mapping[str, Any]
    entities: Mapping[str, EntityMapping]
    path: Path | None = None
    timezone: tzinfo = field(default=UTC)
    #: action -> how the hub writes its entries back into this system (empty: read-only)
    writes: Mapping[str, WriteMapping] = field(default_factory=lambda: _NO_WRITES)

    def auxiliary_fields(self) -> frozenset[str]:
        """`SourceInfo.auxiliary_fields` plus the member extensions ("ext.<name>") this
        system only fills in (its `authority`, or `field_authority` by "ext.<name>")."""
        info = self.source
        member = self.entities.get("member")
        extensions = member.extensions if member is not None else _NO_FIELDS
        return info.auxiliary_fields() | frozenset(
            spec.field for spec in extensions.values()
            if info.field_authority.get(spec.field, info.authority) == "auxiliary")

    @property
    def base_dir(self) -> Path:
        """Relative ledger files and SQLite paths are resolved against the mapping's folder."""
        return self.path.parent if self.path is not None else Path.cwd()


# ---- loading -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _base_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_RESOURCE.read_text(encoding="utf-8"))
    return loaded


def mapping_schema(kind: ConnectorKind | None = None) -> dict[str, Any]:
    """The JSON Schema a mapping of `kind` is validated against: the common mapping schema with
    the kind's `[connection]` schema and its own entity keys composed in (the packaged file's
    per-kind `allOf`, kept for editors, gives way to the kind's part). Without a kind: the
    common schema, `[connection]` only required to be a table."""
    schema = copy.deepcopy(_base_schema())
    schema.pop("allOf", None)
    if kind is not None:
        schema["properties"]["connection"] = copy.deepcopy(dict(kind.connection_schema))
        entity_properties = schema["$defs"]["entity"]["properties"]
        for key, sub in kind.entity_schema.items():
            entity_properties[key] = copy.deepcopy(dict(sub))
    return schema


@lru_cache(maxsize=32)
def _validator(kind_name: str | None) -> jsonschema.Draft202012Validator:
    kind = connector_kind(kind_name) if kind_name is not None else None
    return jsonschema.Draft202012Validator(mapping_schema(kind))


def clear_validator_cache() -> None:
    """Forget composed schemas (a kind was registered or removed)."""
    _validator.cache_clear()


def _json_path(parts: tuple[Any, ...] | list[Any]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _substitute(
    value: Any, env: Mapping[str, str], where: tuple[Any, ...], problems: list[str],
    unset: list[tuple[Any, ...]] | None = None,
) -> Any:
    """Replace ${NAME} and ${NAME:-default} in every string; unset without default is a problem
    (and its place is added to `unset`: what the schema then says about it is no news)."""
    if isinstance(value, str):
        def repl(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(f"{_json_path(where)}: environment variable {name} is not set")
            if unset is not None:
                unset.append(where)
            return ""
        return _ENV_REF.sub(repl, value)
    if isinstance(value, dict):
        return {k: _substitute(v, env, (*where, k), problems, unset) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, env, (*where, i), problems, unset) for i, v in enumerate(value)]
    return value


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge overrides; an `auth` table with its own `type` replaces the file's auth whole."""
    out = dict(base)
    for key, value in overrides.items():
        current = out.get(key)
        replace_whole = key == "auth" and isinstance(value, Mapping) and "type" in value
        if isinstance(current, dict) and isinstance(value, Mapping) and not replace_whole:
            out[key] = _merge(current, value)
        else:
            out[key] = dict(value) if isinstance(value, Mapping) else value
    return out


def _literal_secrets(raw: Mapping[str, Any]) -> list[str]:
    """Credentials written literally in the file (before substitution) instead of ${ENV}."""
    problems: list[str] = []
    connection = raw.get("connection")
    if not isinstance(connection, Mapping):
        return problems
    auth = connection.get("auth")
    if isinstance(auth, Mapping):
        for key in _SECRET_AUTH_KEYS:
            value = auth.get(key)
            if isinstance(value, str) and value and not _ENV_REF.search(value):
                problems.append(
                    f"$.connection.auth.{key}: write credentials as an ${{ENV}} reference, "
                    "not literally in the mapping file"
                )
    url = connection.get("url")
    if isinstance(url, str) and (m := _URL_PASSWORD.match(url)) and not _ENV_REF.search(m.group(1)):
        problems.append(
            "$.connection.url: the database password must be an ${ENV} reference, "
            "not written in the mapping file"
        )
    return problems


def _format_problem(error: jsonschema.ValidationError) -> str:
    where = _json_path(list(error.absolute_path))
    if error.validator == "unevaluatedProperties" or error.validator == "additionalProperties":
        return f"{where}: {error.message} (unknown keys are not allowed)"
    return f"{where}: {error.message}"


def _parse_timezone(text: str | None) -> tzinfo:
    if text is None or text in ("UTC", "Z"):
        return UTC
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _format_works(fmt: str) -> bool:
    sample = datetime(2016, 3, 5, 14, 30, 15, tzinfo=UTC)
    try:
        return datetime.strptime(sample.strftime(fmt), fmt) is not None
    except ValueError:
        return False


def _extension_problems(doc: Mapping[str, Any],
                        declared: Mapping[str, str] | None) -> list[str]:
    """Extensions: members only, and (when the hub config is known) declared there."""
    out: list[str] = []
    for entity, spec in doc["entities"].items():
        names = spec.get("extensions") or {}
        if names and entity != "member":
            out.append(f"$.entities.{entity}.extensions: only member fields can be extended")
            continue
        for name, fspec in names.items():
            where = f"$.entities.{entity}.extensions.{name}"
            if declared is not None and name not in declared:
                out.append(f"{where}: {name!r} is not declared; add [extensions.member.{name}] "
                           "with type and label to yanxing.toml"
                           + (f" (declared: {', '.join(sorted(declared))})" if declared else ""))
            if isinstance(fspec, Mapping) and "type" in fspec:
                out.append(f"{where}.type: an extension's type is declared in yanxing.toml, "
                           "not in the mapping")
    return out


def _semantic_problems(doc: Mapping[str, Any]) -> list[str]:
    """What the JSON Schema cannot say: known fields, code values, formats, per-kind keys."""
    problems: list[str] = []
    kind = connector_kind(doc["source"]["kind"])
    extension_authority = {f"ext.{n}" for n in
                           (doc["entities"].get("member", {}).get("extensions") or {})}
    for name in doc["source"].get("field_authority", {}):
        if name in extension_authority:
            continue
        if name not in FIELD_TYPES["member"]:
            problems.append(
                f"$.source.field_authority.{name}: {name!r} is not a canonical member field "
                f"(known: {', '.join(sorted(FIELD_TYPES['member']))})")
    if kind.name == "rest":
        if doc["connection"].get("format") == "xml":
            problems.extend(_xml_path_problems(doc["entities"]))
        for entity, spec in doc["entities"].items():
            base = f"$.entities.{entity}"
            problems.extend(_method_problems(base, spec))
            by_keys = spec.get("by_keys") or {}
            problems.extend(_method_problems(f"{base}.by_keys",
                                             {"method": spec.get("method", "GET"), **by_keys}))
    for entity, spec in doc["entities"].items():
        base = f"$.entities.{entity}"
        known = FIELD_TYPES[entity]
        for name, fspec in spec["fields"].items():
            where = f"{base}.fields.{name}"
            if name not in known:
                problems.append(
                    f"{where}: {name!r} is not a canonical {entity} field "
                    f"(known: {', '.join(sorted(known))})"
                )
                continue
            if isinstance(fspec, str):
                continue
            ftype = fspec.get("type", known[name])
            for code, value in (fspec.get("codes") or {}).items():
                if ftype == "enum":
                    allowed = ENUMS.get((entity, name), frozenset())
                    if value not in allowed:
                        problems.append(
                            f"{where}.codes.{code}: {value!r} is not a {name} value "
                            f"(allowed: {', '.join(sorted(allowed))})"
                        )
                elif ftype == "bool" and not isinstance(value, bool):
                    problems.append(f"{where}.codes.{code}: {name} codes must map to true or false")
                elif ftype == "int" and (not isinstance(value, int) or isinstance(value, bool)):
                    problems.append(f"{where}.codes.{code}: {name} codes must map to integers")
                elif ftype == "float" and (not isinstance(value, (int, float))
                                           or isinstance(value, bool)):
                    problems.append(f"{where}.codes.{code}: {name} codes must map to numbers")
                elif ftype not in ("enum", "bool", "int", "float") and not isinstance(value, str):
                    problems.append(f"{where}.codes.{code}: {name} codes must map to text")
            if fspec.get("formats"):
                if ftype not in ("date", "datetime"):
                    problems.append(f"{where}.formats: only date and datetime fields take formats")
                for i, fmt in enumerate(fspec["formats"]):
                    if not _format_works(fmt):
                        problems.append(
                            f"{where}.formats[{i}]: {fmt!r} is not a usable strptime format"
                        )
        for i, name in enumerate(spec.get("required", [])):
            if name not in spec["fields"]:
                problems.append(
                    f"{base}.required[{i}]: {name!r} is required but not mapped in fields"
                )
        since = spec.get("changed_since")
        if since and since.get("format") and not _format_works(since["format"]):
            problems.append(
                f"{base}.changed_since.format: {since['format']!r} is not a usable format"
            )
        problems.extend(_kind_problems(kind, entity, spec))
    if kind.check is not None:
        problems.extend(kind.check(doc))
    for action, spec in (doc.get("write") or {}).items():
        problems.extend(_write_problems(kind.name, action, spec, doc["connection"]))
    return problems


_WRITE_KEYS = {
    "rest": ("method", "path", "idempotency_header", "result_id", "headers"),
    "sql": ("table", "key_column"),
    "ledger": ("file", "sheet", "encoding", "key_column"),
}
_WRITE_REQUIRED = {"rest": ("path",), "sql": ("table", "key_column"),
                   "ledger": ("file", "key_column")}


def _write_problems(
    kind: str, action: str, spec: Mapping[str, Any], connection: Mapping[str, Any]
) -> list[str]:
    """What the schema cannot say of a [write.<action>] table: the keys its kind uses, known
    value names, and a ledger write never into the source's own (hand-kept) file."""
    base = f"$.write.{action}"
    out: list[str] = []
    used = _WRITE_KEYS.get(kind, ())
    for key in spec:
        if key != "fields" and key not in used:
            out.append(f"{base}.{key}: not used by a {kind} write; remove it")
    for key in _WRITE_REQUIRED.get(kind, ()):
        if key not in spec:
            out.append(f"{base}: a {kind} write needs {key}")
    columns: dict[str, str] = {}
    for name, fspec in spec["fields"].items():
        where = f"{base}.fields.{name}"
        if name not in WRITE_VALUES and not (
            name.startswith(PAYLOAD_PREFIX) and len(name) > len(PAYLOAD_PREFIX)
        ):
            out.append(f"{where}: {name!r} is not a value a write carries (known: "
                       f"{', '.join(sorted(WRITE_VALUES))}, or payload.<name>)")
        column = fspec if isinstance(fspec, str) else fspec["column"]
        if column in columns:
            out.append(f"{where}: column {column!r} is written by {columns[column]!r} too")
        columns[column] = name
        if isinstance(fspec, Mapping) and fspec.get("format") and not _format_works(
                fspec["format"]):
            out.append(f"{where}.format: {fspec['format']!r} is not a usable strftime format")
    key_column = spec.get("key_column")
    if key_column is not None and key_column in columns:
        out.append(f"{base}.key_column: {key_column!r} is also a field's column; the key "
                   "column holds the idempotency key alone")
    if kind == "ledger" and "file" in spec:
        suffix = Path(spec["file"]).suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            out.append(f"{base}.file: {spec['file']!r} must end in .csv or .xlsx")
        if Path(spec["file"]).name == Path(str(connection.get("file", ""))).name:
            out.append(f"{base}.file: the hub appends only to a file it owns, never to the "
                       "ledger it reads (kept by hand); name another file")
        if "encoding" in spec and suffix == ".xlsx":
            out.append(f"{base}.encoding: only CSV files have an encoding")
        if "sheet" in spec and suffix == ".csv":
            out.append(f"{base}.sheet: only XLSX files have sheets")
    return out


def _xml_path_problems(entities: Mapping[str, Any]) -> list[str]:
    """With `format = "xml"` every path is an XPath expression: say which do not compile."""
    from connectors._xml import path_problem

    out: list[str] = []
    for entity, spec in entities.items():
        base = f"$.entities.{entity}"
        paging = spec.get("pagination") or {}
        paths = [(f"{base}.records", spec.get("records")), (f"{base}.local_id", spec["local_id"]),
                 (f"{base}.pagination.total", paging.get("total")),
                 (f"{base}.pagination.next", paging.get("next"))]
        for table in ("fields", "extensions"):
            for name, fspec in (spec.get(table) or {}).items():
                column = fspec if isinstance(fspec, str) else fspec.get("column")
                paths.append((f"{base}.{table}.{name}", column))
        for where, path in paths:
            if path and (problem := path_problem(path)) is not None:
                out.append(f"{where}: {problem}")
    return out


def _method_problems(base: str, spec: Mapping[str, Any]) -> list[str]:
    """`body` says how a POST sends its parameters: without POST it means nothing."""
    if "body" in spec and spec.get("method", "GET") != "POST":
        return [f"{base}.body: only a POST request has a body; set method = \"POST\" or "
                "remove body"]
    return []


def _kind_problems(kind: ConnectorKind, entity: str, spec: Mapping[str, Any]) -> list[str]:
    """Entity keys the kind does not read, and the ones it needs but are missing."""
    base = f"$.entities.{entity}"
    out: list[str] = []
    for key in spec:
        if key not in COMMON_ENTITY_KEYS and key not in kind.entity_keys:
            out.append(f"{base}.{key}: not used by a {kind.name} source; remove it")
    for key, what in kind.required_entity_keys.items():
        if key not in spec:
            out.append(f"{base}: missing {key} ({what})")
    return out


def _strings(table: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(table)) if table else _NO_STRINGS


def _by_keys(spec: Mapping[str, Any], entity: Mapping[str, Any]) -> ByKeys:
    """By-id requests use the entity's method and body unless they say otherwise."""
    fixed = {k: v for k, v in spec.items() if k not in ("params", "headers", "method", "body")}
    method = spec.get("method", entity.get("method", "GET"))
    body = spec.get("body", entity.get("body")) if method == "POST" else None
    return ByKeys(
        **fixed, params=_strings(spec.get("params")), headers=_strings(spec.get("headers")),
        method=method, body=body or ("json" if method == "POST" else None),
    )


def _field_mapping(key: str, fspec: Any, default_type: str) -> FieldMapping:
    if isinstance(fspec, str):
        return FieldMapping(key, fspec, default_type)
    codes = fspec.get("codes")
    return FieldMapping(key, fspec["column"], fspec.get("type", default_type),
                        MappingProxyType(dict(codes)) if codes else None,
                        tuple(fspec.get("formats", ())))


def _build(doc: Mapping[str, Any], path: Path | None,
           declared: Mapping[str, str] | None = None) -> SourceMapping:
    source = doc["source"]
    kind = source["kind"]
    connection = dict(doc["connection"])
    auth = connection.get("auth")
    if isinstance(auth, dict):
        connection["auth"] = MappingProxyType(
            {k: Secret(v) if k in _SECRET_AUTH_KEYS else v for k, v in auth.items()}
        )
    if "headers" in connection:
        connection["headers"] = MappingProxyType(dict(connection["headers"]))
    if kind == "sql":
        url = connection["url"]
        connection["url"] = Secret(url, display=_URL_PASSWORD.sub(
            lambda m: m.group(0).replace(m.group(1), "***"), url))
    if kind == "ledger" and "format" not in connection:
        connection["format"] = Path(connection["file"]).suffix.lower().lstrip(".")
    entities: dict[str, EntityMapping] = {}
    for name, spec in doc["entities"].items():
        known = FIELD_TYPES[name]
        fields: dict[str, FieldMapping] = {}
        for fname, fspec in spec["fields"].items():
            if isinstance(fspec, str):
                fields[fname] = FieldMapping(fname, fspec, known[fname])
            else:
                codes = fspec.get("codes")
                fields[fname] = FieldMapping(
                    fname,
                    fspec["column"],
                    fspec.get("type", known[fname]),
                    MappingProxyType(dict(codes)) if codes else None,
                    tuple(fspec.get("formats", ())),
                )
        entities[name] = EntityMapping(
            name=name,
            local_id=spec["local_id"],
            fields=MappingProxyType(fields),
            path=spec.get("path"),
            records=spec.get("records"),
            pagination=Pagination(**spec["pagination"]) if "pagination" in spec else None,
            by_keys=_by_keys(spec["by_keys"], spec) if "by_keys" in spec else None,
            changed_since=ChangedSince(**spec["changed_since"])
            if "changed_since" in spec
            else None,
            required=tuple(spec.get("required", ())),
            file=spec.get("file"),
            sheet=spec.get("sheet"),
            header_row=spec.get("header_row"),
            params=_strings(spec.get("params")),
            headers=_strings(spec.get("headers")),
            index_only=bool(spec.get("index_only", False)),
            options=MappingProxyType(
                {k: v for k, v in spec.items() if k in connector_kind(kind).entity_schema}),
            method=spec.get("method", "GET"),
            body=spec.get("body", "json") if spec.get("method") == "POST" else None,
            extensions=MappingProxyType({
                ext: _field_mapping(f"ext.{ext}", fspec, (declared or {}).get(ext, "string"))
                for ext, fspec in (spec.get("extensions") or {}).items()}),
        )
    return SourceMapping(
        source=SourceInfo(
            source["name"], kind, source.get("title", source["name"]), source["side"],
            source.get("authority", "record"), _strings(source.get("field_authority")),
        ),
        connection=MappingProxyType(connection),
        entities=MappingProxyType(entities),
        path=path,
        timezone=_parse_timezone(connection.get("timezone")),
        writes=MappingProxyType({
            action: _write(action, spec) for action, spec in (doc.get("write") or {}).items()
        }),
    )


def _kind_of(doc: Mapping[str, Any], problems: list[str]) -> str | None:
    """The registered kind the document names (None, with a problem, when it names none)."""
    source = doc.get("source")
    name = source.get("kind") if isinstance(source, Mapping) else None
    if not isinstance(name, str):
        return None  # the schema reports a missing or non-text kind
    try:
        connector_kind(name)
    except ConnectorConfigError as exc:
        problems.extend(f"$.source.kind: {p}" for p in exc.problems)
        return None
    return name


def _write(action: str, spec: Mapping[str, Any]) -> WriteMapping:
    fields = tuple(
        WriteField(name, fspec) if isinstance(fspec, str)
        else WriteField(name, fspec["column"], fspec.get("format"))
        for name, fspec in spec["fields"].items()
    )
    fixed = {k: v for k, v in spec.items() if k not in ("fields", "headers")}
    return WriteMapping(action=action, fields=fields, headers=_strings(spec.get("headers")),
                        **fixed)


def parse_mapping(
    raw: Mapping[str, Any],
    *,
    path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    extensions: Mapping[str, str] | None = None,
) -> SourceMapping:
    """Validate an already-parsed mapping document (tests and generated mappings use this).
    `extensions`: the hub config's declared extension fields (name -> type); None when the
    mapping is read alone (its extensions are then read as text)."""
    where = str(path) if path is not None else "<mapping>"
    problems = _literal_secrets(raw)
    doc = dict(raw)
    if overrides:
        # merged before substitution: a value the hub config replaces needs no ${ENV} of its own
        current = doc.get("connection")
        connection: dict[str, Any] = current if isinstance(current, dict) else {}
        doc["connection"] = _merge(connection, overrides)
    unset: list[tuple[Any, ...]] = []
    doc = _substitute(doc, os.environ if env is None else env, (), problems, unset)
    kind_name = _kind_of(doc, problems)
    schema_errors = sorted(_validator(kind_name).iter_errors(doc),
                           key=lambda e: list(e.absolute_path))
    # an unset variable is the root cause of what the schema says about its value: only it is
    # reported (a base_url of "" is "not a URL" only because ${PLATFORM_URL} is unset)
    caused = [e for e in schema_errors
              if not any(tuple(e.absolute_path)[: len(u)] == u for u in unset)]
    problems.extend(_format_problem(e) for e in caused)
    if not schema_errors and kind_name is not None and not unset:
        problems.extend(_semantic_problems(doc))
        problems.extend(_extension_problems(doc, extensions))
    if problems:
        error = ConnectorConfigError([f"{where}: {p}" for p in problems])
        error.path = where
        raise error
    return _build(doc, path, extensions)


def load_mapping(
    path: Path,
    *,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    extensions: Mapping[str, str] | None = None,
) -> SourceMapping:
    """Read, substitute, merge `overrides` into [connection], validate; raise ConnectorConfigError.

    `env` defaults to os.environ. `overrides` come from the hub config's [sources.connection].
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConnectorConfigError(f"{path}: mapping file not found", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConnectorConfigError(
            f"{path}: cannot read mapping file: {exc}", path=str(path)
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConnectorConfigError(f"{path}: not valid TOML: {exc}", path=str(path)) from None
    return parse_mapping(raw, path=path.resolve(), overrides=overrides, env=env,
                         extensions=extensions)
