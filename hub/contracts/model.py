"""The contract document (双向共管协议) as typed, validated Python objects.

A contract is JSON validated by `schema/contract.schema.json` (packaged in `hub/schemas/`).
Party references name a role (origin 流出地, destination 流入地, observer) or a party id;
`parse_contract` resolves nothing eagerly but checks every reference exists, so
`Contract.matches(ref, party)` can answer cheaply at request time. A read grant says "grantee
may read these fields of data supplied by the sources of `data_of`, with this transform" — e.g.
origin may read destination's `employer` in full and `birthDate` coarsened to the year.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import jsonschema

from hub.canonical_json import canonical
from hub.clock import parse_time
from hub.errors import ContractError
from hub.policy.base import Subject, Transform

__all__ = [
    "CONTRACT_TYPE",
    "ROLES",
    "RECORD_ACTIONS",
    "SCHEMA_RESOURCE",
    "Role",
    "ReadGrant",
    "ReadProhibition",
    "Obligation",
    "Scope",
    "Contract",
    "contract_schema",
    "schema_problems",
    "contract_digest",
    "parse_contract",
    "semantic_problems",
    "region_covers",
    "region_prefix",
]

CONTRACT_TYPE = "yanxing.contract"
#: package data (published as schema/contract.schema.json), read through importlib.resources so
#: an installed wheel finds it
SCHEMA_RESOURCE: Traversable = resources.files("hub") / "schemas" / "contract.schema.json"


class Role(enum.StrEnum):
    ORIGIN = "origin"            # 流出地: holds the membership (组织关系)
    DESTINATION = "destination"  # 流入地: where the member lives and takes part
    OBSERVER = "observer"        # e.g. a provincial organisation department


ROLES = frozenset(r.value for r in Role)
RECORD_ACTIONS = (
    "checkin", "status_report", "attendance", "task_publish", "task_claim",
    "evaluation_letter", "transfer", "reconciliation",
)
_TRANSFORMS = {"full": Transform.FULL, "masked": Transform.MASKED,
               "hashed": Transform.HASHED, "year": Transform.YEAR}


@functools.cache
def contract_schema() -> Mapping[str, Any]:
    schema: Mapping[str, Any] = json.loads(SCHEMA_RESOURCE.read_text(encoding="utf-8"))
    return schema


def schema_problems(doc: Any) -> list[str]:
    """Every JSON Schema violation, as 'path: message', sorted by path."""
    validator = jsonschema.Draft202012Validator(contract_schema())
    problems = []
    for error in validator.iter_errors(doc):
        path = "/".join(str(p) for p in error.absolute_path) or "(document)"
        problems.append(f"{path}: {error.message}")
    return sorted(problems)


def contract_digest(doc: Mapping[str, Any]) -> str:
    """sha256 of the RFC 8785 form: what `supersedes` and the audit log name a contract by."""
    return "sha256:" + hashlib.sha256(canonical(dict(doc))).hexdigest()


def region_prefix(scope_code: str) -> str:
    """The code prefix a region covers: 510000 -> "51", 510100 -> "5101", 510115 -> "510115"."""
    prefix = scope_code
    for _ in range(2):
        if prefix.endswith("00"):
            prefix = prefix[:-2]
    return prefix


def region_covers(scope_code: str, code: str | None) -> bool:
    """GB/T 2260 hierarchy.

    510000 (四川省) covers 5101xx; 510100 (成都市) covers 510115 (温江区).
    """
    return code is not None and code.startswith(region_prefix(scope_code))


@dataclass(frozen=True, slots=True)
class ReadGrant:
    grantee: str
    data_of: str | None
    fields: Mapping[str, Mapping[str, Transform]]


@dataclass(frozen=True, slots=True)
class ReadProhibition:
    grantee: str
    data_of: str | None
    fields: Mapping[str, frozenset[str]]


@dataclass(frozen=True, slots=True)
class Obligation:
    who: str
    what: str
    schedule: str
    grace_days: int = 0
    to: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Scope:
    origin_org_ids: frozenset[str] = frozenset()
    origin_region_codes: tuple[str, ...] = ()
    destination_region_codes: tuple[str, ...] = ()
    statuses: frozenset[str] | None = None

    def covers(self, subject: Subject) -> bool:
        """(origin org listed OR origin region covered) AND destination AND status match.
        Unknown routing values never match: the scope is a grant, so it fails closed."""
        origin = subject.origin_org_id in self.origin_org_ids or any(
            region_covers(c, subject.origin_region_code) for c in self.origin_region_codes
        )
        destination = not self.destination_region_codes or any(
            region_covers(c, subject.destination_region_code)
            for c in self.destination_region_codes
        )
        status = self.statuses is None or subject.status in self.statuses
        return origin and destination and status


@dataclass(frozen=True, slots=True)
class Contract:
    id: str
    version: int
    supersedes: str | None
    title: str
    parties: Mapping[str, Role]
    not_before: datetime
    not_after: datetime
    scope: Scope
    read_grants: tuple[ReadGrant, ...]
    read_prohibitions: tuple[ReadProhibition, ...]
    record: Mapping[str, frozenset[str]]
    record_prohibitions: Mapping[str, frozenset[str]]
    obligations: tuple[Obligation, ...]
    purposes: frozenset[str]
    max_members_per_request: int | None
    digest: str
    document: Mapping[str, Any] = field(repr=False, compare=False)

    def matches(self, ref: str | None, party: str) -> bool:
        """Does reference `ref` (role or party id; None = any party) name `party`?"""
        if party not in self.parties:
            return False
        if ref is None:
            return True
        return ref == party or (ref in ROLES and self.parties[party] == ref)

    def in_force(self, now: datetime) -> bool:
        return self.not_before <= now < self.not_after


def _refs(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(path, ref) of every party reference in the document."""
    found: list[tuple[str, str]] = []
    for section in ("permissions", "prohibitions"):
        block = doc.get(section, {})
        for i, rule in enumerate(block.get("read", [])):
            found.append((f"{section}/read/{i}/grantee", rule["grantee"]))
            if "data_of" in rule:
                found.append((f"{section}/read/{i}/data_of", rule["data_of"]))
        for action, refs in block.get("record", {}).items():
            found.extend((f"{section}/record/{action}", r) for r in refs)
    for i, ob in enumerate(doc.get("obligations", [])):
        found.append((f"obligations/{i}/who", ob["who"]))
        if "to" in ob:
            found.append((f"obligations/{i}/to", ob["to"]))
    return found


def semantic_problems(doc: Mapping[str, Any]) -> list[str]:
    """Problems the JSON Schema cannot express (run only on schema-valid documents)."""
    problems: list[str] = []
    ids = [p["party"] for p in doc["parties"]]
    if len(ids) != len(set(ids)):
        problems.append("parties: a party appears twice; each party has one role")
    for pid in ids:
        if pid in ROLES:
            problems.append(f"parties: party id {pid!r} is a role name; rename the party")
    roles = {p["role"] for p in doc["parties"]}
    if not {"origin", "destination"} <= roles:
        problems.append("parties: a 双向共管协议 needs at least one origin and one destination")
    if parse_time(doc["validity"]["not_after"]) <= parse_time(doc["validity"]["not_before"]):
        problems.append("validity: not_after must follow not_before")
    for path, ref in _refs(doc):
        if ref not in ROLES and ref not in ids:
            problems.append(f"{path}: {ref!r} is neither a role nor a party of this contract")
    if doc["version"] > 1 and not doc.get("supersedes"):
        problems.append("supersedes: version > 1 must name the digest of the version it replaces")
    return problems


def parse_contract(doc: Any) -> Contract:
    """Validate and type a contract document; raises ContractError listing every problem."""
    problems = schema_problems(doc)
    if not problems:
        problems = semantic_problems(doc)
    if problems:
        raise ContractError("contract is invalid:\n  " + "\n  ".join(problems))
    scope = doc["scope"]
    perms = doc.get("permissions", {})
    prohib = doc.get("prohibitions", {})
    return Contract(
        id=doc["id"],
        version=doc["version"],
        supersedes=doc.get("supersedes"),
        title=doc["title"],
        parties={p["party"]: Role(p["role"]) for p in doc["parties"]},
        not_before=parse_time(doc["validity"]["not_before"]),
        not_after=parse_time(doc["validity"]["not_after"]),
        scope=Scope(
            origin_org_ids=frozenset(scope.get("origin_org_ids", ())),
            origin_region_codes=tuple(scope.get("origin_region_codes", ())),
            destination_region_codes=tuple(scope.get("destination_region_codes", ())),
            statuses=frozenset(scope["statuses"]) if "statuses" in scope else None,
        ),
        read_grants=tuple(
            ReadGrant(
                grantee=g["grantee"],
                data_of=g.get("data_of"),
                fields={t: {f: _TRANSFORMS[x] for f, x in fs.items()}
                        for t, fs in g["fields"].items()},
            )
            for g in perms.get("read", [])
        ),
        read_prohibitions=tuple(
            ReadProhibition(
                grantee=p["grantee"],
                data_of=p.get("data_of"),
                fields={t: frozenset(fs) for t, fs in p["fields"].items()},
            )
            for p in prohib.get("read", [])
        ),
        record={a: frozenset(r) for a, r in perms.get("record", {}).items()},
        record_prohibitions={a: frozenset(r) for a, r in prohib.get("record", {}).items()},
        obligations=tuple(
            Obligation(who=o["who"], what=o["what"], schedule=o["schedule"],
                       grace_days=o.get("grace_days", 0), to=o.get("to"),
                       description=o.get("description", ""))
            for o in doc.get("obligations", [])
        ),
        purposes=frozenset(doc["purposes"]),
        max_members_per_request=doc.get("limits", {}).get("max_members_per_request"),
        digest=contract_digest(doc),
        document=doc,
    )

