"""What one party may see of a reconciliation's rows: its own side's records, and of the other
side's only what its contracts allow (row scope, fields, transforms: hub.contracts.policy).

A row the party may not see at all is left out; the counts per category stay whole for every
party of the run, so a party learns how many records fall in a category, never which ones
(tests/reconcile/test_privacy.py proves it through HTTP). Values of the other side pass
`Policy.transform` for the GraphQL (type, field) the canonical field is shown as (a name as
`Member.name`, a destination region as `Destination.region`, the record id as
`SourceRecord.localId`), asked of the request's policy point (hub.policy.decisions); a field
with no GraphQL name is never shown to the other side.
Bad rows belong to the side whose file or source they came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.model import MEMBER_GRAPHQL_FIELDS
from hub.policy.base import SubjectWithOwners, Transform
from hub.policy.decisions import Decisions
from hub.policy.transforms import apply
from hub.reconcile.report import SIDE_FIELDS

__all__ = ["visible_row", "GRAPHQL_NAME"]


def _graphql_names() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for pair, fields in sorted(MEMBER_GRAPHQL_FIELDS.items()):
        for f in fields:
            out.setdefault(f, pair)
    out["local_id"] = ("SourceRecord", "localId")
    out["row"] = ("SourceRecord", "localId")
    return out


#: canonical field -> the GraphQL (type, field) a contract grants it as
GRAPHQL_NAME: Mapping[str, tuple[str, str]] = _graphql_names()
_ALWAYS = frozenset({"source"})  # which system: public, as SourceRecord.system


def _subject(row: Mapping[str, Any], owners: frozenset[str]) -> SubjectWithOwners:
    s = row.get("subject") or {}
    return SubjectWithOwners(
        member_key=row.get("key") or row.get("pair") or "", origin_org_id=s.get("origin_org_id"),
        origin_region_code=s.get("origin_region_code"),
        destination_region_code=s.get("destination_region_code"), status=s.get("status"),
        owners=owners)


def _part(decisions: Decisions, subject: SubjectWithOwners, part: Mapping[str, Any],
          owner: str, hash_key: bytes) -> dict[str, Any]:
    if owner == decisions.caller.party:
        return dict(part)
    shown: dict[str, Any] = {}
    for name in SIDE_FIELDS:
        value = part.get(name)
        if name in _ALWAYS:
            shown[name] = value
            continue
        graphql = GRAPHQL_NAME.get(name)
        transform = (decisions.transform(subject, graphql[0], graphql[1], owner)
                     if graphql else Transform.DENY)
        shown[name] = apply(transform, graphql[1] if graphql else name, value,
                            hash_key=hash_key) if transform is not Transform.HASHED else None
    return shown


def visible_row(decisions: Decisions, row: Mapping[str, Any], *, origin_party: str,
                destination_party: str, hash_key: bytes = b"") -> dict[str, Any] | None:
    """The row as the request's caller may see it, or None when it may not see it at all."""
    party = decisions.caller.party
    if party is None:
        return None
    if row.get("category") == "bad_row":
        owner = origin_party if row.get("side") == "origin" else destination_party
        return dict(row) if owner == party else None
    owners = frozenset(p for p, part in ((origin_party, row.get("origin")),
                                         (destination_party, row.get("destination")))
                       if part is not None)
    subject = _subject(row, owners)
    if not decisions.can_see(subject):
        return None  # no contract over this member: the party has the counts only
    out = dict(row)
    for side, owner in (("origin", origin_party), ("destination", destination_party)):
        part = row.get(side)
        if part is not None:
            out[side] = _part(decisions, subject, part, owner, hash_key)
    out["differences"] = [
        {**d, "origin": out["origin"].get(d["field"]) if out.get("origin") else None,
         "destination": out["destination"].get(d["field"]) if out.get("destination") else None}
        for d in row.get("differences", ())
    ]
    return out

