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

from connectors.canonical import ENUMS, FIELD_TYPES
from connectors.errors import ConnectorConfigError
from connectors.secret import Secret

__all__ = [
    "SCHEMA_RESOURCE",
    "SourceInfo",
    "FieldMapping",
    "Pagination",
    "ByKeys",
    "ChangedSince",
    "EntityMapping",
    "SourceMapping",
    "load_mapping",
    "parse_mapping",
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
    #: REST: "GET", or "POST" with the paging and changed-since parameters in a `body`
    method: str = "GET"
    body: str | None = None
    #: the deployment's extension fields (connectors.extensions): name -> mapping; each
    #: FieldMapping's `field` is the record key ("ext.<name>")
    extensions: Mapping[str, FieldMapping] = field(default_factory=lambda: _NO_FIELDS)


@dataclass(frozen=True, slots=True)
class SourceMapping:
    """A validated mapping file. `connection` holds Secrets for credentials."""

    source: SourceInfo
    connection: Mapping[str, Any]
    entities: Mapping[str, EntityMapping]
    path: Path | None = None
    timezone: tzinfo = field(default=UTC)

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
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_RESOURCE.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _json_path(parts: tuple[Any, ...] | list[Any]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _substitute(
    value: Any, env: Mapping[str, str], where: tuple[Any, ...], problems: list[str]
) -> Any:
    """Replace ${NAME} and ${NAME:-default} in every string; unset without default is a problem."""
    if isinstance(value, str):
        def repl(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(f"{_json_path(where)}: environment variable {name} is not set")
            return ""
        return _ENV_REF.sub(repl, value)
    if isinstance(value, dict):
        return {k: _substitute(v, env, (*where, k), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, env, (*where, i), problems) for i, v in enumerate(value)]
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
    kind = doc["source"]["kind"]
    extension_authority = {f"ext.{n}" for n in
                           (doc["entities"].get("member", {}).get("extensions") or {})}
    for name in doc["source"].get("field_authority", {}):
        if name in extension_authority:
            continue
        if name not in FIELD_TYPES["member"]:
            problems.append(
                f"$.source.field_authority.{name}: {name!r} is not a canonical member field "
                f"(known: {', '.join(sorted(FIELD_TYPES['member']))})")
    if kind == "rest" and doc["connection"].get("format") == "xml":
        problems.extend(_xml_path_problems(doc["entities"]))
    if kind == "ledger":
        conn = doc["connection"]
        fmt = conn.get("format") or Path(conn["file"]).suffix.lower().lstrip(".")
        if fmt not in ("xlsx", "csv"):
            problems.append(
                f"$.connection.file: cannot tell the ledger format from {conn['file']!r}; "
                'set format = "xlsx" or "csv" (save .xls files as .xlsx)'
            )
        if "encoding" in conn and fmt == "xlsx":
            problems.append("$.connection.encoding: only CSV ledgers have an encoding")
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
    return problems


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


def _kind_problems(kind: str, entity: str, spec: Mapping[str, Any]) -> list[str]:
    base = f"$.entities.{entity}"
    out: list[str] = []
    rest_only = ("params", "headers", "index_only", "method", "body")
    not_for = {
        "rest": ("file", "sheet", "header_row"),
        "ledger": ("records", "pagination", "by_keys", "changed_since", *rest_only),
        "sql": ("records", "pagination", "by_keys", "file", "sheet", "header_row", *rest_only),
    }[kind]
    for key in not_for:
        if key in spec:
            out.append(f"{base}.{key}: not used by a {kind} source; remove it")
    if kind in ("rest", "sql") and "path" not in spec:
        what = "the URL path" if kind == "rest" else "the table or view name"
        out.append(f"{base}: missing path ({what})")
    since = spec.get("changed_since")
    if since:
        if kind == "rest" and "param" not in since:
            out.append(f"{base}.changed_since: a rest source needs param (the query parameter)")
        if kind == "sql" and "column" not in since and "updated_at" not in spec["fields"]:
            out.append(f"{base}.changed_since: an sql source needs column, or map updated_at")
        if kind == "sql" and "param" in since:
            out.append(f"{base}.changed_since.param: sql sources use column, not param")
    if kind == "rest":
        out.extend(_fixed_param_problems(base, spec))
        out.extend(_method_problems(base, spec))
        by_keys = spec.get("by_keys") or {}
        out.extend(_method_problems(f"{base}.by_keys", {"method": spec.get("method", "GET"),
                                                        **by_keys}))
    return out


def _fixed_param_problems(base: str, spec: Mapping[str, Any]) -> list[str]:
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
    )


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
    doc = _substitute(doc, os.environ if env is None else env, (), problems)
    schema_errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    problems.extend(_format_problem(e) for e in schema_errors)
    if not schema_errors:
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
