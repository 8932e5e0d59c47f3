"""GraphQL for workflow 3, 一领 tasks: publish, claim, report completion, review; `tasks`.

Each mutation is a ledger action behind the one guard (`@ledger_action`, hub.api.exchange);
the resolvers only say what is recorded and where, and leave every rule of the life cycle
to the entry's effect (hub.exchange.tasks), which runs after the guard's contract checks and
inside the entry's transaction.

Who sees what: a task (title, points, places: nothing personal) is listed to its publisher and
to the parties sharing a contract with it; a claim (a member's, with its evidence) only to the
party that recorded it and to the task's publisher, and its member only within row scope.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import func, or_, select
from strawberry.types import Info

from hub.api.context import Context
from hub.api.exchange import Intent, ledger_action
from hub.api.inputs import check_org_code
from hub.api.types.exchange import ExchangeReceipt
from hub.api.types.pagination import Connection
from hub.api.types.workflow_common import partners, relay_page
from hub.clock import as_utc, format_time, utcnow
from hub.errors import NotFound
from hub.exchange.errors import PayloadInvalid
from hub.exchange.tables import TaskClaimRow, TaskRow
from hub.exchange.tasks import (
    TaskClaim as TaskClaimPayload,
)
from hub.exchange.tasks import (
    TaskCompletion,
    TaskPublication,
    TaskReview,
    claim_effect,
    publish_effect,
    report_effect,
    review_effect,
    visible_claims,
    visible_tasks,
)

if TYPE_CHECKING:
    from hub.api.types.member import Member
    from hub.api.types.organization import Organization

__all__ = ["QUERY_TYPES", "MUTATION_TYPES", "Task", "TaskClaim", "TaskFilter"]

_Member = Annotated["Member", strawberry.lazy("hub.api.types.member")]
_Organization = Annotated["Organization", strawberry.lazy("hub.api.types.organization")]


@strawberry.enum(description="任务类型。 Kind of task.")
class TaskKind(enum.Enum):
    ORIGIN_TASK = strawberry.enum_value(
        "origin_task", description="一领：流出地党组织发布、其党员认领 a task the origin branch "
        "publishes for its members (一领)")
    COMMUNITY_REQUEST = strawberry.enum_value(
        "community_request", description="群众点单、党员接单：流入地社区提出、当地党员接单 a "
        "request of a destination community, taken by members living there")


@strawberry.enum(description="认领状态。 State of a claim.")
class TaskClaimState(enum.Enum):
    CLAIMED = strawberry.enum_value("claimed", description="已认领 claimed")
    REPORTED = strawberry.enum_value("reported", description="已报告完成，待确认 completion "
                                     "reported, awaiting the publisher")
    CONFIRMED = strawberry.enum_value("confirmed", description="已确认（终态，计分） confirmed "
                                      "(final; points awarded)")
    REJECTED = strawberry.enum_value("rejected", description="未通过（终态，名额释放） rejected "
                                     "(final; the place is free again)")


@strawberry.enum(description="发布方的审核结论。 The publisher's decision on a reported "
                 "completion.")
class TaskDecision(enum.Enum):
    CONFIRMED = strawberry.enum_value("confirmed", description="确认完成 confirm")
    REJECTED = strawberry.enum_value("rejected", description="不予确认 reject")


@strawberry.type(description="一领任务或群众点单。 A task (一领) or a community request "
                 "(群众点单、党员接单) with its places.")
class Task:
    _row: strawberry.Private[TaskRow]

    @strawberry.field(description="任务编号（发布条目的台账编号）。 Task number: the ledger "
                      "number of the entry that published it.")
    def number(self) -> int:
        return self._row.entry_id

    @strawberry.field(description="类型。 Kind.")
    def kind(self) -> TaskKind:
        return TaskKind(self._row.kind)

    @strawberry.field(description="标题，如“帮村里销售脐橙”。 Title, e.g. 帮村里销售脐橙.")
    def title(self) -> str:
        return self._row.title

    @strawberry.field(description="说明。 Description.")
    def description(self) -> str:
        return self._row.description

    @strawberry.field(description="截止时间（UTC）。 Deadline (UTC).")
    def deadline(self) -> datetime:
        return as_utc(self._row.deadline) or self._row.deadline

    @strawberry.field(description="完成并经确认可得积分。 Points a confirmed completion earns.")
    def points(self) -> int:
        return self._row.points

    @strawberry.field(description="名额。 Places (most members who may hold a claim).")
    def capacity(self) -> int:
        return self._row.capacity

    @strawberry.field(description="占用名额（被拒绝的不占）。 Places taken (a rejected claim "
                      "frees its place).")
    async def claimed(self, info: Info) -> int:
        ctx: Context = info.context
        async with ctx.runtime.session_factory() as session:
            n = await session.scalar(select(func.count()).where(
                TaskClaimRow.task_entry_id == self._row.entry_id,
                TaskClaimRow.slot.is_not(None)))
        return int(n or 0)

    @strawberry.field(description="是否仍可认领（未截止且有名额）。 Open: before the deadline "
                      "with a place free.")
    async def open(self, info: Info) -> bool:
        return bool(self.deadline() > utcnow()
                    and await self.claimed(info) < self._row.capacity)

    @strawberry.field(description="发布方。 Publishing party.")
    def publisher(self) -> str:
        return self._row.party

    @strawberry.field(description="发布的党组织。 Publishing organisation.")
    async def organization(self, info: Info) -> _Organization | None:
        from hub.api.types.organization import organization_by_code

        return await organization_by_code(info, self._row.organization)

    @strawberry.field(description="发布时间。 Published at (UTC).")
    def published_at(self) -> datetime:
        return as_utc(self._row.published_at) or self._row.published_at

    @strawberry.field(description="认领（仅记录方与发布方可见）。 Claims of this task: those "
                      "the caller recorded, or all when it published the task.")
    async def claims(self, info: Info, first: int | None = None, after: str | None = None,
                     last: int | None = None, before: str | None = None,
                     ) -> Connection[TaskClaim]:
        ctx: Context = info.context
        stmt = select(TaskClaimRow).where(TaskClaimRow.task_entry_id == self._row.entry_id,
                                          visible_claims(ctx.caller.party or ""))
        rows, offset, limit, count = await relay_page(ctx, stmt, (TaskClaimRow.id,),
                                                      (first, after, last, before))
        return Connection.build([TaskClaim(_row=r) for r in rows], offset, limit, count)


@strawberry.type(description="一次认领：成员、状态、完成证明。 One member's claim of a task: its "
                 "state and the evidence of completion.")
class TaskClaim:
    _row: strawberry.Private[TaskClaimRow]

    @strawberry.field(description="认领编号。 Claim number.")
    def number(self) -> int:
        return self._row.id

    @strawberry.field(description="状态。 State.")
    def state(self) -> TaskClaimState:
        return TaskClaimState(self._row.state)

    @strawberry.field(description="成员（调用方可见时）。 The member, when the caller may see "
                      "them.")
    async def member(self, info: Info) -> _Member | None:
        from hub.api.types.resolve import member_by_key

        return await member_by_key(info, self._row.member_key)

    @strawberry.field(description="任务。 The task.")
    async def task(self, info: Info) -> Task | None:
        return await task_by_number(info.context, self._row.task_entry_id)

    @strawberry.field(description="记录认领的一方。 The party that recorded the claim.")
    def party(self) -> str:
        return self._row.party

    @strawberry.field(description="完成证明（文字）。 Evidence of completion (text).")
    def evidence(self) -> str | None:
        return self._row.evidence

    @strawberry.field(description="认领时间。 Claimed at (UTC).")
    def claimed_at(self) -> datetime:
        return as_utc(self._row.claimed_at) or self._row.claimed_at

    @strawberry.field(description="最近变化时间。 Last change (UTC).")
    def updated_at(self) -> datetime:
        return as_utc(self._row.updated_at) or self._row.updated_at

    @strawberry.field(description="认领、报告、审核各条目的台账编号。 Ledger numbers of the "
                      "claim, report and decision entries (null while not taken).")
    def entries(self) -> list[int | None]:
        r = self._row
        return [r.claim_entry_id, r.report_entry_id, r.decision_entry_id]


@strawberry.input(description="任务筛选。 Task filter.")
class TaskFilter:
    organization: str | None = strawberry.field(
        default=None, description="发布的党组织代码。 Publishing organisation's code.")
    kind: TaskKind | None = strawberry.field(default=None, description="类型。 Kind.")
    open_only: bool = strawberry.field(
        default=False, description="只列仍可认领的。 Only tasks before their deadline (places "
        "may still be full).")


@strawberry.input(description="发布任务。 A task to publish.")
class TaskInput:
    kind: TaskKind = strawberry.field(description="类型。 Kind.")
    title: str = strawberry.field(description="标题（≤200字）。 Title (at most 200 characters).")
    description: str = strawberry.field(description="说明（≤2000字）。 Description.")
    deadline: datetime = strawberry.field(description="截止时间（带时区）。 Deadline, with a "
                                          "time zone.")
    points: int = strawberry.field(description="积分（0–100）。 Points for a confirmed "
                                   "completion, 0..100.")
    capacity: int = strawberry.field(description="名额（1–1000）。 Places, 1..1000.")


@strawberry.type(description="任务记录回执：台账条目、任务。 Receipt of a task step: the "
                 "ledger entry, the task, and the member and organisation nodes.")
class TaskReceipt(ExchangeReceipt):
    @strawberry.field(description="任务。 The task.")
    async def task(self, info: Info) -> Task | None:
        entry = self.entry._entry
        ctx: Context = info.context
        if entry.action == "task_publish":
            return await task_by_number(ctx, entry.id)
        claim = await _claim_of_entry(ctx, entry.id)
        return await task_by_number(ctx, claim.task_entry_id) if claim else None

    @strawberry.field(description="认领（认领、报告、审核时）。 The claim (for a claim, a report "
                      "or a decision).")
    async def claim(self, info: Info) -> TaskClaim | None:
        claim = await _claim_of_entry(info.context, self.entry._entry.id)
        return TaskClaim(_row=claim) if claim else None


async def task_by_number(ctx: Context, number: int) -> Task | None:
    async with ctx.runtime.session_factory() as session:
        row = await session.get(TaskRow, number)
    return Task(_row=row) if row is not None else None


async def _claim_of_entry(ctx: Context, entry_id: int) -> TaskClaimRow | None:
    async with ctx.runtime.session_factory() as session:
        return (await session.scalars(select(TaskClaimRow).where(or_(
            TaskClaimRow.claim_entry_id == entry_id, TaskClaimRow.report_entry_id == entry_id,
            TaskClaimRow.decision_entry_id == entry_id)))).first()


async def _claim_row(ctx: Context, number: int) -> TaskClaimRow:
    async with ctx.runtime.session_factory() as session:
        row = await session.get(TaskClaimRow, number)
    if row is None:
        raise PayloadInvalid("claim", f"no claim {number}")
    return row


def _utc_text(value: datetime, field: str) -> str:
    if value.tzinfo is None:
        raise PayloadInvalid(field, "needs a time zone, e.g. 2026-12-31T23:59:00+08:00")
    return format_time(value)


@strawberry.type
class TasksQuery:
    @strawberry.field(description="任务列表（本方发布的及协议伙伴发布的），新的在前。 Tasks the "
                      "caller published or its contract partners did, newest first.")
    async def tasks(self, info: Info, filter: TaskFilter | None = None,
                    first: int | None = None, after: str | None = None,
                    last: int | None = None, before: str | None = None) -> Connection[Task]:
        ctx: Context = info.context
        f = filter or TaskFilter()
        party = ctx.caller.party
        stmt = select(TaskRow)
        if party is not None:
            stmt = stmt.where(visible_tasks(party, partners(ctx)))
        elif ctx.decisions.grants_records:
            stmt = stmt.where(TaskRow.entry_id.is_(None))  # under contracts: a party only
        if f.organization:
            stmt = stmt.where(TaskRow.organization ==
                              check_org_code(f.organization, "filter.organization"))
        if f.kind is not None:
            stmt = stmt.where(TaskRow.kind == f.kind.value)
        if f.open_only:
            stmt = stmt.where(TaskRow.deadline > utcnow())
        rows, offset, limit, count = await relay_page(
            ctx, stmt, (TaskRow.published_at.desc(), TaskRow.entry_id.desc()),
            (first, after, last, before))
        return Connection.build([Task(_row=r) for r in rows], offset, limit, count)


@strawberry.type
class TasksMutation:
    @strawberry.mutation(description="发布任务（一领）或群众点单（需 task_publish 记录权限，在本方"
                         "党组织）。 Publish a task (一领) or a community request (群众点单) at "
                         "one of the caller's own organisations; needs a contract's "
                         "`task_publish` record permission.")
    @ledger_action("task_publish", receipt=TaskReceipt)
    async def publish_task(self, info: Info, organization: strawberry.ID,
                           task: TaskInput) -> Intent:
        ctx: Context = info.context
        code = check_org_code(str(organization), "organization")
        payload = TaskPublication(
            kind=str(task.kind.value), title=task.title, description=task.description,
            deadline=_utc_text(task.deadline, "deadline"), points=task.points,
            capacity=task.capacity)
        org = await ctx.loaders.organizations.load(code)
        region_code = org.region_code if org is not None else None
        return Intent(payload, organization=code,
                      effects=(publish_effect(payload, region_code),))

    @strawberry.mutation(description="为成员认领任务（需 task_claim 记录权限；名额、截止、资格"
                         "在同一事务中检查）。 Record that a member claims a task; needs the "
                         "`task_claim` record permission for the member. Places, deadline and "
                         "eligibility are checked in the entry's transaction: TASK_FULL, "
                         "TASK_STATE_CONFLICT, TASK_NOT_ELIGIBLE.")
    @ledger_action("task_claim", receipt=TaskReceipt)
    async def claim_task(self, info: Info, task: int, member_key: strawberry.ID,
                         organization: strawberry.ID, note: str | None = None) -> Intent:
        ctx: Context = info.context
        found = await task_by_number(ctx, task)
        if found is None:
            raise NotFound(f"no task {task}")
        key = str(member_key)
        return Intent(TaskClaimPayload(note=note), organization=str(organization),
                      member_key=key, answers=task, effects=(claim_effect(task, key),))

    @strawberry.mutation(description="报告任务完成并附证明（由记录认领的一方）。 Report a claimed "
                         "task as done, with evidence text; by the party that recorded the "
                         "claim (`task_claim` permission).")
    @ledger_action("task_report", receipt=TaskReceipt)
    async def report_task_completion(self, info: Info, claim: int, evidence: str) -> Intent:
        ctx: Context = info.context
        row = await _claim_row(ctx, claim)
        field = f"Mutation.{info.field_name}"
        return Intent(TaskCompletion(evidence=evidence), organization=row.organization,
                      member_key=row.member_key, answers=row.claim_entry_id,
                      effects=(report_effect(claim, evidence,
                                             lambda: ctx.access.refused(field)),))

    @strawberry.mutation(description="发布方确认或不予确认已报告的完成（确认即计分；二者皆为终态）。"
                         " The publisher confirms (points awarded) or rejects a reported "
                         "completion; both are final (`task_publish` permission).")
    @ledger_action("task_review", receipt=TaskReceipt)
    async def review_task_completion(self, info: Info, claim: int, decision: TaskDecision,
                                     note: str | None = None) -> Intent:
        ctx: Context = info.context
        row = await _claim_row(ctx, claim)
        found = await task_by_number(ctx, row.task_entry_id)
        assert found is not None  # a claim answers a task that exists
        field = f"Mutation.{info.field_name}"
        verdict = str(decision.value)
        return Intent(TaskReview(decision=verdict, note=note),
                      organization=found._row.organization, member_key=row.member_key,
                      answers=row.report_entry_id or row.claim_entry_id,
                      effects=(review_effect(claim, verdict,
                                             lambda: ctx.access.refused(field)),))


QUERY_TYPES = (TasksQuery,)
MUTATION_TYPES = (TasksMutation,)
