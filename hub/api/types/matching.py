"""`MatchCandidate`: a record without a valid ID number that may be a known member (撞库摸排).

Candidates come from hub.federation.linking; a person confirms them. The candidate's name is
personal data, so the type is policed like `Member`, and a candidate whose member is outside
the caller's scope is not listed at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry
from strawberry.types import Info

from connectors.base import PartialDate
from hub.api.types.member import Member
from hub.api.types.policed import PolicedObject
from hub.api.types.resolve import member_by_key
from hub.federation.linking import Candidate, candidate_matches
from hub.policy.base import Subject

if TYPE_CHECKING:
    from hub.api.context import Context

__all__ = ["MatchCandidate", "match_candidates"]


@strawberry.type(description="疑似匹配：无有效身份证号的记录可能是某位已知党员，待人工确认。"
                 " A record without a valid ID number that may be a known member; "
                 "a person confirms it.")
class MatchCandidate(PolicedObject):
    system: str = strawberry.field(description="记录所在系统。 System holding the record.")
    local_id: str | None = strawberry.field(description="该系统内的记录编号"
                                            "（须协议授予或本方系统）。 "
                                            "The record's id there (granted as "
                                            "SourceRecord.localId, or the caller's system).")
    name: str | None = strawberry.field(description="记录上的姓名（按 Member.name 授予）。 Name "
                                        "on the record (granted as Member.name).")
    birth_date: PartialDate | None = strawberry.field(description="记录上的出生日期（按 "
                                                      "Member.birthDate 授予）。 Birth date on "
                                                      "it (granted as Member.birthDate).")
    score: float = strawberry.field(description="匹配度 0–1。 Match score, 0..1.")
    reasons: list[str] = strawberry.field(description="一致的字段：name、birth_date、phone。 "
                                          "Fields that agree.")
    member: Member = strawberry.field(description="疑似对应的党员。 The candidate member.")
    cursor: str = strawberry.field(description="分页游标，作为 `after` 传回。 Pass as `after`.")

    def policy_subject(self) -> Subject | None:
        return self.member._subject

    def policy_owner(self, ctx: Context, field: str) -> str | None:
        return ctx.runtime.registry.owner_of(self.system)


async def _to_type(info: Info, c: Candidate) -> MatchCandidate | None:
    member = await member_by_key(info, c.member_key)
    if member is None:
        return None
    return MatchCandidate(
        system=c.source, local_id=c.local_id, name=c.name,
        birth_date=PartialDate.from_date(c.birth_date), score=c.score, reasons=list(c.reasons),
        member=member, cursor=c.cursor,
    )


async def match_candidates(info: Info, first: int, after: str | None) -> list[MatchCandidate]:
    ctx: Context = info.context
    async with ctx.runtime.session_factory() as session:
        found = await candidate_matches(session, limit=first, after=after)
    return [m for m in [await _to_type(info, c) for c in found] if m is not None]
