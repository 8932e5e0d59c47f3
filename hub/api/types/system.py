"""Connected systems, their sync state and the data-quality issues found in them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import strawberry
from sqlalchemy import select, tuple_

from hub.api.types.enums import BreakerStateKind, HealthState, SourceSide
from hub.api.types.policed import PolicedObject
from hub.federation.sources import SourceEntry
from hub.policy.base import Subject
from hub.store.models import DataIssueRow, MemberRow, SourceLinkRow, SyncStateRow

if TYPE_CHECKING:
    from hub.api.context import Context

__all__ = ["BreakerInfo", "Source", "SourceHealthInfo", "SyncInfo", "DataQualityIssue"]


@strawberry.type(description="数据源健康状况。 Health of a connected system at its last call.")
class SourceHealthInfo:
    state: HealthState = strawberry.field(description="状态。 State.")
    checked_at: datetime | None = strawberry.field(description="检测时间。 When it was known.")
    code: str | None = strawberry.field(description="错误代码，如 SOURCE_TIMEOUT。 Error code.")


@strawberry.type(description="熔断器状态：连续失败后暂停调用该系统，到时试探恢复。 Circuit "
                 "breaker of a system: after consecutive failures its reads fail at once "
                 "until a probe read succeeds.")
class BreakerInfo:
    state: BreakerStateKind = strawberry.field(description="状态。 State.")
    failures: int = strawberry.field(description="连续失败次数。 Consecutive failures.")
    opened_at: datetime | None = strawberry.field(description="上次断开时间。 Last opened.")


@strawberry.type(description="同步状态（每个实体）。 Sync state of one entity of a system.")
class SyncInfo:
    entity: str = strawberry.field(description="实体：member、organization 等。 Entity.")
    status: str = strawberry.field(description="状态：never、running、ok、failed。 Status.")
    finished_at: datetime | None = strawberry.field(description="上次完成时间。 Last finished.")
    records_seen: int | None = strawberry.field(description="上次读取记录数"
                                                "（仅所属方或协议授予）。 "
                                                "Records seen last run (the owner's, or "
                                                "granted).")
    issues_seen: int | None = strawberry.field(description="上次发现问题数（仅所属方或协议授予）。 "
                                               "Issues seen last run (the owner's, or "
                                               "granted).")
    last_error_code: str | None = strawberry.field(description="上次错误代码。 Last error code.")

    @classmethod
    def from_row(cls, row: SyncStateRow, *, counts: bool = True) -> SyncInfo:
        """`counts`: may the caller see how many records and issues the source holds?
        (How many members another party's system keeps is that party's to share.)"""
        return cls(
            entity=row.entity, status=row.status, finished_at=row.finished_at,
            records_seen=(row.records_seen or 0) if counts else None,
            issues_seen=(row.issues_seen or 0) if counts else None,
            last_error_code=getattr(row, "last_error_code", None),
        )


@strawberry.type(description="接入的系统（省市平台、县数据库、村台账）。 A connected source system "
                 "(platform, county database or village ledger).")
class Source:
    name: str = strawberry.field(description="名称（唯一）。 Unique name.")
    title: str | None = strawberry.field(description="显示名称，如 蓉城先锋。 Display title.")
    kind: str = strawberry.field(
        description="连接方式：rest、ledger、sql、graphql，或插件注册的类型。 "
                    "Connector kind: a built-in or a plugin's (yanxing.connectors).")
    side: SourceSide = strawberry.field(description="流出地或流入地。 Origin or destination side.")
    owner: str | None = strawberry.field(description="所属一方（党组织部门或平台运营方）。 The "
                                         "owning party.")
    health: SourceHealthInfo = strawberry.field(description="健康状况。 Health.")
    sync: list[SyncInfo] = strawberry.field(description="各实体同步状态。 Last sync per entity.")
    breaker: BreakerInfo | None = strawberry.field(description="熔断器（仅所属方或协议授予）。 "
                                                   "Circuit breaker (the owner's, or granted).")

    @classmethod
    def from_entry(cls, entry: SourceEntry, sync: list[SyncStateRow],
                   counts: bool = True) -> Source:
        h = entry.health
        return cls(
            name=entry.name, title=entry.title, kind=entry.kind,
            side=SourceSide(entry.side.value), owner=entry.owner,
            health=SourceHealthInfo(
                state=HealthState(h.status.value), checked_at=h.checked_at, code=h.code
            ),
            sync=[SyncInfo.from_row(r, counts=counts) for r in sync],
            breaker=BreakerInfo(
                state=BreakerStateKind(entry.breaker.state.value),
                failures=entry.breaker.consecutive_failures, opened_at=entry.breaker.opened_at,
            ) if counts else None,
        )


@strawberry.type(description="数据质量问题：哪个系统、哪个文件/页、哪一行哪一列、什么问题。 A "
                 "data-quality problem: system, file or page, row, column, what to fix.")
class DataQualityIssue(PolicedObject):
    system: str = strawberry.field(description="系统。 Source system.")
    entity: str = strawberry.field(description="实体。 Entity.")
    location: str | None = strawberry.field(description="文件、页或表（他方系统的问题须协议授予"
                                            "记录编号）。 File, API page or table (of another "
                                            "party's system: needs SourceRecord.localId).")
    row: int | None = strawberry.field(description="行号（按人数法，从 1 开始）。 Row, 1-based.")
    column: str | None = strawberry.field(description="列名（源系统中的名称）。 Column.")
    code: str = strawberry.field(description="问题代码，如 INVALID_ID_NUMBER。 Issue code.")
    message: str | None = strawberry.field(description="说明与修正办法"
                                           "（可能引用原值；他方系统的问题"
                                           "须协议授予记录编号）。 What is wrong, how to fix it "
                                           "(may quote the value; of another party's system: "
                                           "needs SourceRecord.localId).")
    local_id: str | None = strawberry.field(description="源系统记录编号。 Record id in the system.")
    first_seen: datetime = strawberry.field(description="首次发现。 First seen.")
    last_seen: datetime = strawberry.field(description="最近发现。 Last seen.")

    #: the member the issue's record belongs to (None: own issues, or no linked member)
    _subject: strawberry.Private[Subject | None] = None

    def policy_subject(self) -> Subject | None:
        return self._subject

    def policy_owner(self, ctx: Context, field: str) -> str | None:
        return ctx.runtime.registry.owner_of(self.system)

    @classmethod
    def from_row(cls, r: DataIssueRow, subject: Subject | None = None) -> DataQualityIssue:
        return cls(
            system=r.source, entity=r.entity, location=r.location, row=r.row, column=r.column,
            code=r.code, message=r.message, local_id=r.local_id, first_seen=r.first_seen,
            last_seen=r.last_seen, _subject=subject,
        )


async def issue_subjects(ctx: Context, rows: Sequence[DataIssueRow]
                         ) -> dict[tuple[str, str | None], Subject]:
    """The member each issue of *another* party's source is about (its linked record), so the
    policy decides its record-level fields (localId, row, location, message) for that member
    under the contracts' scope; one query per page."""
    owner_of = ctx.runtime.registry.owner_of
    party = ctx.caller.party
    wanted = {(r.source, r.local_id) for r in rows
              if r.local_id is not None and owner_of(r.source) != party}
    if not wanted:
        return {}
    from hub.api.scope import subject_of

    stmt = (select(SourceLinkRow.source, SourceLinkRow.local_id, MemberRow)
            .join(MemberRow, MemberRow.key == SourceLinkRow.member_key)
            .where(SourceLinkRow.entity == "member",
                   tuple_(SourceLinkRow.source, SourceLinkRow.local_id).in_(sorted(wanted))))
    async with ctx.runtime.session_factory() as session:
        found = (await session.execute(stmt)).all()
    return {(source, local_id): subject_of(member) for source, local_id, member in found}
