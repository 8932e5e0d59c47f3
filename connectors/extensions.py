"""A deployment's own member fields (扩展字段): declared in yanxing.toml, mapped as others.

A deployment may keep facts the canonical model has no field for (党内职务, 学历, 是否困难党员…).
It declares each once, with a type, a Chinese label and a sensitivity:

    [extensions.member.party_duty]
    type = "string"              # string | int | float | bool | date
    label = "党内职务"
    sensitivity = "ordinary"     # ordinary (default) | masked | identifying

and each mapping maps it like a canonical field, under its entity's `extensions` table:

    [entities.member.extensions]
    party_duty = "dnzw"          # a column, or {column, codes, formats}

A record carries the value as `values["ext.party_duty"]`; the hub stores it with the member's
link and serves it as a typed field of `Member.extensions` in that deployment's schema (never
in the core SDL), policed and masked as any member field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.canonical import FIELD_TYPES, SENSITIVITIES

__all__ = ["ExtensionField", "EXTENSION_TYPES", "EXTENSION_PREFIX", "read_extensions",
           "extension_types"]

#: the value types an extension field may have (a subset of connectors.canonical.TYPES)
EXTENSION_TYPES = frozenset({"string", "int", "float", "bool", "date"})
#: a record's value of extension `x` is `values[EXTENSION_PREFIX + "x"]`
EXTENSION_PREFIX = "ext."
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_KEYS = ("type", "label", "sensitivity")


@dataclass(frozen=True, slots=True)
class ExtensionField:
    """One declared extension field of members."""

    name: str
    type: str
    label: str
    sensitivity: str = "ordinary"

    @property
    def graphql_name(self) -> str:
        head, *rest = self.name.split("_")
        return head + "".join(p.title() for p in rest)


def extension_types(fields: tuple[ExtensionField, ...]) -> Mapping[str, str]:
    """name -> value type, what the mapping loader checks a mapping's extensions against."""
    return {f.name: f.type for f in fields}


def read_extensions(raw: Any, problems: list[str]) -> tuple[ExtensionField, ...]:
    """The [extensions] table of yanxing.toml; every problem is appended to `problems`."""
    if not isinstance(raw, Mapping):
        problems.append("[extensions] must be a table: [extensions.member.<name>]")
        return ()
    for entity in raw:
        if entity != "member":
            problems.append(f"[extensions.{entity}]: only member fields can be extended "
                            "(extensions.member.<name>)")
    members = raw.get("member", {})
    if not isinstance(members, Mapping):
        problems.append("[extensions.member] must be a table of fields")
        return ()
    out: list[ExtensionField] = []
    camel: dict[str, str] = {}
    for name, spec in members.items():
        where = f"[extensions.member.{name}]"
        if not _NAME.match(name):
            problems.append(f"{where}: a name is lower_snake_case, at most 40 characters")
            continue
        if name in FIELD_TYPES["member"]:
            problems.append(f"{where}: {name!r} is a canonical member field; map it as one")
            continue
        if not isinstance(spec, Mapping):
            problems.append(f"{where} must be a table with type and label")
            continue
        problems.extend(f"{where}: unknown key {k!r} (known: {', '.join(_KEYS)})"
                        for k in spec if k not in _KEYS)
        kind, label = spec.get("type"), spec.get("label")
        sensitivity = spec.get("sensitivity", "ordinary")
        if kind not in EXTENSION_TYPES:
            problems.append(f"{where}.type must be one of {', '.join(sorted(EXTENSION_TYPES))}")
        if not isinstance(label, str) or not label.strip():
            problems.append(f"{where}.label is required: the field's Chinese name (e.g. 党内职务)")
        if sensitivity not in SENSITIVITIES:
            problems.append(
                f"{where}.sensitivity must be one of {', '.join(sorted(SENSITIVITIES))}")
        field = ExtensionField(name, str(kind), str(label).strip() if label else "",
                               str(sensitivity))
        if field.graphql_name in camel:
            problems.append(f"{where}: {name!r} and {camel[field.graphql_name]!r} are both "
                            f"{field.graphql_name} in GraphQL; rename one")
        camel[field.graphql_name] = name
        out.append(field)
    return tuple(out)
