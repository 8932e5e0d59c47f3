"""Candidate matches for records without a valid ID number (撞库摸排), confirmed by a person.

A record that arrived without a usable ID number is kept unlinked. It is a *candidate* for a
linked member when a record of that member carries the same name and birth date; the same
phone (compared as keyed hashes) raises the score. The hub never links on a guess: a person
confirms with `confirm_match`, which is recorded on the link and survives later syncs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

from sqlalchemy import and_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub.errors import NotFound, RequestError
from hub.federation.member_rows import recompute_members
from hub.store.models import MemberRow, SourceLinkRow

__all__ = ["Candidate", "candidate_matches", "confirm_match", "SCORE_NAME_BIRTH", "SCORE_PHONE"]

#: name + birth date agree: a plausible match, still needing a person to confirm
SCORE_NAME_BIRTH = 0.8
#: the phone agrees as well
SCORE_PHONE = 0.2


@dataclass(frozen=True, slots=True)
class Candidate:
    """An unlinked record (`source`, `local_id`) that may be the member `member_key`.

    `cursor` is opaque: pass the last one back as `after` to get the next page.
    """

    source: str
    local_id: str
    member_key: str
    name: str
    birth_date: date
    score: float
    reasons: tuple[str, ...]
    cursor: str


def _cursor(link_id: int, member_key: str) -> str:
    return f"{link_id}:{member_key}"


def _parse_cursor(after: str) -> tuple[int, str]:
    head, sep, key = after.partition(":")
    if not sep or not head.isdigit() or not key:
        raise RequestError(f"bad candidate cursor {after[:80]!r}")
    return int(head), key


async def candidate_matches(
    session: AsyncSession, *, limit: int = 50, after: str | None = None
) -> list[Candidate]:
    """Up to `limit` candidates, ordered by unlinked record then member (stable for paging)."""
    if not 1 <= limit <= 1000:
        raise RequestError("limit must be between 1 and 1000")
    unlinked = aliased(SourceLinkRow, name="unlinked")
    linked = aliased(SourceLinkRow, name="linked")
    stmt = (
        select(
            unlinked.id, unlinked.source, unlinked.local_id, unlinked.match_name,
            unlinked.match_birth_date, unlinked.match_phone_hash, linked.member_key,
            linked.match_phone_hash, MemberRow.phone_hash,
        )
        .join(
            linked,
            and_(
                linked.match_name == unlinked.match_name,
                linked.match_birth_date == unlinked.match_birth_date,
                linked.member_key.is_not(None),
            ),
        )
        .join(MemberRow, MemberRow.key == linked.member_key)
        .where(unlinked.member_key.is_(None), unlinked.entity == "member")
        .where(unlinked.match_name.is_not(None), unlinked.match_birth_date.is_not(None))
        .order_by(unlinked.id, linked.member_key)
    )
    if after is not None:
        stmt = stmt.where(tuple_(unlinked.id, linked.member_key) > tuple_(*_parse_cursor(after)))
    found: dict[tuple[int, str], Candidate] = {}
    rows = (await session.execute(stmt)).all()
    for link_id, source, local_id, name, birth, phone, key, linked_phone, member_phone in rows:
        # the query's joins and WHERE exclude NULL here; the column types cannot say so
        key, name, birth = cast(str, key), cast(str, name), cast(date, birth)
        phone_match = phone is not None and phone in (linked_phone, member_phone)
        prior = found.get((link_id, key))
        if prior is not None and (not phone_match or "phone" in prior.reasons):
            continue  # several records of the member matched; keep the best reason set
        found[(link_id, key)] = Candidate(
            source=source, local_id=local_id, member_key=key, name=name, birth_date=birth,
            score=SCORE_NAME_BIRTH + (SCORE_PHONE if phone_match else 0.0),
            reasons=("name", "birth_date", "phone") if phone_match else ("name", "birth_date"),
            cursor=_cursor(link_id, key),
        )
        if len(found) > limit:
            break
    return list(found.values())[:limit]


async def confirm_match(
    session: AsyncSession, source: str, local_id: str, member_key: str, confirmed_by: str
) -> SourceLinkRow:
    """Link the unlinked record (`source`, `local_id`) to `member_key` and recompute that
    member's routing. Runs in the caller's transaction: commit it to make the link visible.

    Raises NotFound when the record or member does not exist, RequestError when the record
    already belongs to a member (re-linking would hide a data error; fix the source instead).
    """
    if not confirmed_by.strip():
        raise RequestError("confirmed_by must name the person confirming")
    link = (
        await session.execute(
            select(SourceLinkRow).where(
                SourceLinkRow.source == source,
                SourceLinkRow.entity == "member",
                SourceLinkRow.local_id == local_id,
            )
        )
    ).scalar_one_or_none()
    if link is None:
        raise NotFound(f"no record {local_id!r} from source {source!r}")
    if await session.get(MemberRow, member_key) is None:
        raise NotFound("no such member")
    if link.member_key is not None:
        if link.member_key == member_key:
            return link
        raise RequestError(f"record {local_id!r} from {source!r} is already linked to a member")
    link.member_key = member_key
    link.confirmed_by = confirmed_by.strip()[:128]
    await session.flush()
    await recompute_members(session, [member_key])
    return link
