"""Connector kinds: what `[source] kind = "…"` may name, each with its own mapping-schema part.

A kind is a `ConnectorKind`: its name, how to open a connector for a validated mapping, the
JSON Schema of its `[connection]` table and of the entity keys only it reads, the entity keys it
uses, and the checks the JSON Schema cannot express. Kinds are found through the entry-point
group `yanxing.connectors` (PEP 621 `[project.entry-points."yanxing.connectors"]`), so a
package adds a kind by being installed, and the built-ins (rest, ledger, sql, mock, graphql) are
declared the same way in yanxing's own pyproject.toml. A mapping naming a kind is validated
against the common mapping schema with that kind's part composed in (`connectors.mapping`), so
a plugin's mistakes are reported exactly like a built-in's: every problem, with its JSON path.

An entry point names a `ConnectorKind` object (`"my_pkg.kind:KIND"`) or a function returning
one. Loading is lazy and cached: nothing is imported until a mapping names the kind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from connectors.errors import ConnectorConfigError

if TYPE_CHECKING:
    from connectors.base import Connector
    from connectors.mapping import SourceMapping

__all__ = [
    "ENTRY_POINT_GROUP",
    "BUILTIN_KINDS",
    "COMMON_ENTITY_KEYS",
    "ConnectorKind",
    "connector_kind",
    "kind_names",
    "register_kind",
    "unregister_kind",
]

#: the entry-point group a plugin package declares its kinds in
ENTRY_POINT_GROUP = "yanxing.connectors"

#: the kinds yanxing itself ships, as declared under ENTRY_POINT_GROUP in its pyproject.toml
#: (tests/connectors/test_kinds.py keeps the two equal); used as well when the running code
#: is a checkout whose installed metadata predates a kind
BUILTIN_KINDS: Mapping[str, str] = MappingProxyType({
    "rest": "connectors.builtin_kinds:REST",
    "ledger": "connectors.builtin_kinds:LEDGER",
    "sql": "connectors.builtin_kinds:SQL",
    "mock": "connectors.builtin_kinds:MOCK",
    "graphql": "connectors.graphql:KIND",
})

#: entity keys every kind reads (the rest are the kind's own: `ConnectorKind.entity_keys`)
COMMON_ENTITY_KEYS = frozenset({"local_id", "fields", "required", "extensions"})

_NO_SCHEMA: Mapping[str, Any] = MappingProxyType({})

MappingCheck = Callable[[Mapping[str, Any]], list[str]]


@dataclass(frozen=True, slots=True)
class ConnectorKind:
    """One kind of source system, as a mapping file names it in `[source] kind`.

    `open` builds the connector from a validated mapping without any I/O. `connection_schema`
    is the JSON Schema (draft 2020-12) of the `[connection]` table; it may `$ref` the common
    definitions of the mapping schema by absolute URI (`MAPPING_SCHEMA_ID#/$defs/timezone`).
    `entity_schema` gives the JSON Schema of each entity key that only this kind reads (they
    reach the connector as `EntityMapping.options`). `entity_keys` names every entity key the
    kind uses besides local_id, fields and required, including built-in ones such as
    `pagination` or `by_keys`: any other key is reported as unused. `check` returns the
    problems of a whole mapping document the schema cannot express, as "$.json.path: what".
    """

    name: str
    open: Callable[[SourceMapping], Connector]
    connection_schema: Mapping[str, Any]
    entity_keys: frozenset[str] = frozenset()
    entity_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: _NO_SCHEMA)
    check: MappingCheck | None = None
    #: one line for `yanxing connector new --help` and error messages
    title: str = ""
    #: entity keys that must be present ("the URL path")
    required_entity_keys: Mapping[str, str] = field(default_factory=lambda: _NO_SCHEMA)


_lock = threading.Lock()
_loaded: dict[str, ConnectorKind] = {}
_registered: dict[str, ConnectorKind] = {}


def _entry_points() -> dict[str, EntryPoint | str]:
    """name -> entry point (or built-in "module:attr") for every kind known to this install."""
    found: dict[str, EntryPoint | str] = dict(BUILTIN_KINDS)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in BUILTIN_KINDS and point.value == BUILTIN_KINDS[point.name]:
            continue
        found[point.name] = point
    return found


def kind_names() -> list[str]:
    """Every kind a mapping may name here: the built-ins, installed plugins, registered ones."""
    return sorted(set(_entry_points()) | set(_registered))


def _load(name: str, point: EntryPoint | str) -> ConnectorKind:
    try:
        if isinstance(point, str):
            module, _, attr = point.partition(":")
            loaded: Any = getattr(import_module(module), attr)
        else:
            loaded = point.load()
        kind = loaded() if callable(loaded) and not isinstance(loaded, ConnectorKind) else loaded
    except Exception as exc:  # a broken plugin must say which one, not crash the loader
        where = point if isinstance(point, str) else f"{point.value} ({point.dist or 'unknown'})"
        raise ConnectorConfigError(
            f"connector kind {name!r}: its entry point {where} failed to load: "
            f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(kind, ConnectorKind):
        raise ConnectorConfigError(
            f"connector kind {name!r}: its entry point gives {type(kind).__name__}, "
            "not a connectors.kinds.ConnectorKind")
    if kind.name != name:
        raise ConnectorConfigError(
            f"connector kind {name!r}: its entry point gives the kind {kind.name!r}; the entry "
            "point's name and ConnectorKind.name must be the same")
    return kind


def connector_kind(name: str) -> ConnectorKind:
    """The kind called `name`; ConnectorConfigError naming the known kinds when there is none."""
    with _lock:
        if name in _registered:
            return _registered[name]
        if name in _loaded:
            return _loaded[name]
        points = _entry_points()
        if name not in points:
            raise ConnectorConfigError(
                f"unknown connector kind {name!r} (known: {', '.join(kind_names())}); a plugin "
                f"kind needs its package installed (entry point group {ENTRY_POINT_GROUP})")
        kind = _loaded[name] = _load(name, points[name])
        return kind


def register_kind(kind: ConnectorKind) -> None:
    """Make `kind` known in this process without an installed package (tests, embedding).
    A registered kind shadows an entry point of the same name until unregistered."""
    with _lock:
        _registered[kind.name] = kind
    _invalidate_schema_cache()


def unregister_kind(name: str) -> None:
    with _lock:
        _registered.pop(name, None)
    _invalidate_schema_cache()


def _invalidate_schema_cache() -> None:
    from connectors.mapping import clear_validator_cache

    clear_validator_cache()
