"""Lint a contract before anyone signs it.

Signing is expensive (every party, then the registrar), so mistakes are caught here: unknown
keys, fields that do not exist in the published GraphQL schema, references to roles or parties
not in the contract, and permissions that a prohibition overrides. Such a conflict is not an
error — the prohibition wins at enforcement anyway — but signers should see it, so it is
reported, and `LintReport.resolved` is the document with the overridden grants removed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, GraphQLInterfaceType, GraphQLObjectType, build_schema

from hub.contracts.model import schema_problems, semantic_problems
from hub.errors import ContractError

__all__ = ["LintReport", "lint_contract", "known_fields_from_sdl"]


@dataclass(frozen=True, slots=True)
class LintReport:
    errors: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    #: the document with permissions overridden by prohibitions removed (None when invalid)
    resolved: Mapping[str, Any] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        return [f"error: {e}" for e in self.errors] + [f"conflict: {c}" for c in self.conflicts]


def known_fields_from_sdl(sdl: str) -> dict[str, set[str]]:
    """`type -> fields` of every object and interface type of a GraphQL SDL (e.g.
    schema/yanxing.graphql), the names contracts may use."""
    try:
        schema = build_schema(sdl)
    except (GraphQLError, TypeError) as exc:
        raise ContractError(f"cannot read the published GraphQL schema: {exc}") from exc
    return {
        name: set(t.fields)
        for name, t in schema.type_map.items()
        if not name.startswith("__") and isinstance(t, GraphQLObjectType | GraphQLInterfaceType)
    }


def lint_contract(doc: Any, known_fields: Mapping[str, Set[str]]) -> LintReport:
    errors = schema_problems(doc)
    if errors:
        return LintReport(errors=tuple(errors))
    errors = semantic_problems(doc)
    errors += _unknown_fields(doc, known_fields)
    if errors:
        return LintReport(errors=tuple(errors))
    conflicts, resolved = _resolve_conflicts(doc)
    return LintReport(conflicts=tuple(conflicts), resolved=resolved)


def _unknown_fields(doc: Mapping[str, Any], known: Mapping[str, Set[str]]) -> list[str]:
    problems = []
    for section in ("permissions", "prohibitions"):
        for i, rule in enumerate(doc.get(section, {}).get("read", [])):
            for type_name, fields in rule["fields"].items():
                if type_name not in known:
                    problems.append(
                        f"{section}/read/{i}/fields/{type_name}: type {type_name} is not in the "
                        "published schema"
                    )
                    continue
                for name in fields:
                    if name not in known[type_name]:
                        problems.append(
                            f"{section}/read/{i}/fields/{type_name}/{name}: {type_name}.{name} is "
                            "not in the published schema"
                        )
    return problems


def _overlap(doc: Mapping[str, Any], a: str | None, b: str | None) -> bool:
    """Could references `a` and `b` (None = any party) name the same party?"""
    if a is None or b is None:
        return True
    parties = {p["party"]: p["role"] for p in doc["parties"]}

    def named(ref: str) -> set[str]:
        return {pid for pid, role in parties.items() if ref in (pid, role)}

    return bool(named(a) & named(b))


def _resolve_conflicts(doc: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    resolved = copy.deepcopy(dict(doc))
    conflicts: list[str] = []
    grants = resolved.get("permissions", {}).get("read", [])
    bans = doc.get("prohibitions", {}).get("read", [])
    for i, grant in enumerate(grants):
        for j, ban in enumerate(bans):
            if not (_overlap(doc, grant["grantee"], ban["grantee"])
                    and _overlap(doc, grant.get("data_of"), ban.get("data_of"))):
                continue
            for type_name, banned in ban["fields"].items():
                granted = grant["fields"].get(type_name, {})
                for name in sorted(set(granted) & set(banned)):
                    conflicts.append(
                        f"permissions/read/{i} grants {grant['grantee']} {type_name}.{name} but "
                        f"prohibitions/read/{j} forbids it: the prohibition wins"
                    )
                    del granted[name]
    for grant in grants:
        grant["fields"] = {t: fs for t, fs in grant["fields"].items() if fs}
    if "permissions" in resolved:
        resolved["permissions"]["read"] = [g for g in grants if g["fields"]]
    record = resolved.get("permissions", {}).get("record", {})
    for action, banned in doc.get("prohibitions", {}).get("record", {}).items():
        kept = []
        for ref in record.get(action, []):
            if any(_overlap(doc, ref, b) for b in banned):
                conflicts.append(
                    f"permissions/record/{action} allows {ref} but prohibitions/record/{action} "
                    "forbids it: the prohibition wins"
                )
            else:
                kept.append(ref)
        if action in record:
            record[action] = kept
    return conflicts, resolved
