"""一领 tasks (workflow 3): publish, claim, report completion, confirm or reject; points.

Two kinds of task, one life cycle:
- `origin_task` (一领, 004): the origin branch publishes a task for its members away from home
  (帮村里销售脐橙); members of that branch claim it;
- `community_request` (群众点单、党员接单, 001): a destination community asks, members living
  there take the order.

Each step is a ledger entry answering the previous one, recorded by the party the step
belongs to:

    task_publish (publisher) <- task_claim (any party with task_claim for the member)
        <- task_report (the claim's recorder: completion with evidence text)
        <- task_review (the publisher: confirmed | rejected; confirmed and rejected are final)

A confirmed claim earns the member the task's points (rule `task_confirmed`). Capacity is
held by slots: a claim takes the lowest free slot of 1..capacity inside its entry's
transaction (a savepoint per try, hub.exchange.tables), so concurrent claims never exceed it;
a rejection frees its slot. Every check runs in the entry's transaction (an effect), after
the guard's contract checks: a refused step writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from hub.clock import as_utc, parse_time
from hub.errors import AccessDenied, ContractError, HubError
from hub.exchange.errors import PayloadInvalid
from hub.exchange.ledger import Effect, Entry
from hub.exchange.payloads import Payload, action, check_choice, check_int, check_text
from hub.exchange.points import MAX_TASK_POINTS, PointRule, award
from hub.exchange.tables import TaskClaimRow, TaskRow
from hub.store.models import MemberRow

__all__ = [
    "TASK_KINDS", "CLAIM_STATES", "FINAL_STATES", "MAX_CAPACITY", "MAX_EVIDENCE",
    "TaskPublication", "TaskClaim", "TaskCompletion", "TaskReview",
    "TaskFull", "TaskStateConflict", "TaskNotEligible", "TaskStepDenied",
    "publish_effect", "claim_effect", "report_effect", "review_effect",
]

TASK_KINDS = ("origin_task", "community_request")
CLAIM_STATES = ("claimed", "reported", "confirmed", "rejected")
#: a claim in one of these states takes no further step
FINAL_STATES = frozenset({"confirmed", "rejected"})
#: the most members one task may take
MAX_CAPACITY = 1000
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_EVIDENCE = 2000
MAX_NOTE = 500
#: how often a claim looks for a free slot again after a concurrent claim took its choice
_SLOT_TRIES = 5


class TaskFull(HubError):
    """Every place of the task is taken; nothing was written."""

    code = "TASK_FULL"


class TaskStateConflict(HubError):
    """The task or claim is not in a state that allows this step (a final state, a passed
    deadline, a second claim by one member); nothing was written."""

    code = "TASK_STATE_CONFLICT"


class TaskNotEligible(HubError):
    """The member may not take this task: an origin task is for its branch's members, a
    community request for members living there."""

    code = "TASK_NOT_ELIGIBLE"


class TaskStepDenied(AccessDenied):
    """The step belongs to another party (the publisher reviews, the claim's recorder
    reports)."""


# ------------------------------------------------------------ payloads


def _deadline(value: str) -> datetime:
    try:
        return parse_time(value)
    except ContractError:
        raise PayloadInvalid("deadline", "must be a UTC time like 2026-12-31T16:00:00Z") \
            from None


@action("task_publish", permission="task_publish")
@dataclass(frozen=True, slots=True)
class TaskPublication(Payload):
    kind: str
    title: str
    description: str
    deadline: str
    points: int
    capacity: int

    def validate(self) -> None:
        check_choice("kind", self.kind, TASK_KINDS)
        check_text("title", self.title, max_length=MAX_TITLE, required=True)
        check_text("description", self.description, max_length=MAX_DESCRIPTION,
                   required=True)
        _deadline(self.deadline)
        check_int("points", self.points, minimum=0, maximum=MAX_TASK_POINTS, required=True)
        check_int("capacity", self.capacity, minimum=1, maximum=MAX_CAPACITY, required=True)


@action("task_claim", permission="task_claim")
@dataclass(frozen=True, slots=True)
class TaskClaim(Payload):
    note: str | None = None

    def validate(self) -> None:
        check_text("note", self.note, max_length=MAX_NOTE)


@action("task_report", permission="task_claim")
@dataclass(frozen=True, slots=True)
class TaskCompletion(Payload):
    evidence: str

    def validate(self) -> None:
        check_text("evidence", self.evidence, max_length=MAX_EVIDENCE, required=True)


@action("task_review", permission="task_publish")
@dataclass(frozen=True, slots=True)
class TaskReview(Payload):
    decision: str
    note: str | None = None

    def validate(self) -> None:
        check_choice("decision", self.decision, ("confirmed", "rejected"))
        check_text("note", self.note, max_length=MAX_NOTE)


# ------------------------------------------------------------ effects (in the entry's txn)

Refuse = Callable[[], None]


def publish_effect(publication: TaskPublication, region_code: str | None) -> Effect:
    """Store the task's row; its deadline must lie ahead."""

    async def effect(conn: AsyncConnection, entry: Entry) -> None:
        deadline = _deadline(publication.deadline)
        if deadline <= entry.recorded_at:
            raise PayloadInvalid("deadline", "must lie in the future")
        await conn.execute(insert(TaskRow).values(
            entry_id=entry.id, kind=publication.kind, party=entry.party,
            organization=entry.organization, region_code=region_code,
            title=publication.title, description=publication.description,
            deadline=deadline, points=publication.points, capacity=publication.capacity,
            published_at=entry.recorded_at))

    return effect


async def _task(conn: AsyncConnection, task_id: int) -> TaskRow:
    task = (await conn.execute(select(TaskRow).where(TaskRow.entry_id == task_id))).first()
    if task is None:
        raise PayloadInvalid("task", f"no task {task_id}")
    return task  # type: ignore[return-value]  # a Row read by column name


def _eligible(task: TaskRow, member: MemberRow) -> bool:
    if task.kind == "origin_task":
        return member.origin_org_id == task.organization
    return member.destination_org_id == task.organization or (
        task.region_code is not None and member.destination_region_code == task.region_code)


def claim_effect(task_id: int, member_key: str) -> Effect:
    """Take the lowest free slot of the task for the member (see the module docstring)."""

    async def effect(conn: AsyncConnection, entry: Entry) -> None:
        task = await _task(conn, task_id)
        if entry.recorded_at >= as_utc(task.deadline):  # type: ignore[operator]
            raise TaskStateConflict(f"task {task_id}'s deadline has passed")
        member = (await conn.execute(select(MemberRow).where(
            MemberRow.key == member_key))).first()
        if member is None or not _eligible(task, member):  # type: ignore[arg-type]
            which = "its branch's members" if task.kind == "origin_task" else \
                "members living there"
            raise TaskNotEligible(f"task {task_id} is a {task.kind} for {which}")
        for _ in range(_SLOT_TRIES):
            rows = (await conn.execute(select(TaskClaimRow.slot, TaskClaimRow.member_key,
                                              TaskClaimRow.claim_entry_id).where(
                TaskClaimRow.task_entry_id == task_id))).all()
            mine = next((r for r in rows if r.member_key == member_key), None)
            if mine is not None:
                raise TaskStateConflict(
                    f"this member claimed task {task_id} already (entry {mine.claim_entry_id})")
            taken = {r.slot for r in rows if r.slot is not None}
            free = next((s for s in range(1, task.capacity + 1) if s not in taken), None)
            if free is None:
                raise TaskFull(f"task {task_id} has all its {task.capacity} places taken")
            try:
                async with conn.begin_nested():
                    await conn.execute(insert(TaskClaimRow).values(
                        task_entry_id=task_id, member_key=member_key, slot=free,
                        state="claimed", party=entry.party, organization=entry.organization,
                        claim_entry_id=entry.id, claimed_at=entry.recorded_at,
                        updated_at=entry.recorded_at))
                return
            except IntegrityError:
                continue  # a concurrent claim took the slot (or this member): look again
        raise TaskFull(f"task {task_id} is being claimed by many at once; try again")

    return effect


async def _claim(conn: AsyncConnection, claim_id: int) -> TaskClaimRow:
    claim = (await conn.execute(select(TaskClaimRow).where(
        TaskClaimRow.id == claim_id))).first()
    if claim is None:
        raise PayloadInvalid("claim", f"no claim {claim_id}")
    return claim  # type: ignore[return-value]


async def _move(conn: AsyncConnection, claim: TaskClaimRow, expected: str,
                values: dict[str, object]) -> None:
    """`claim` from state `expected` to `values` (a conditional UPDATE: a concurrent step
    that came first leaves this one nothing to move)."""
    result = await conn.execute(update(TaskClaimRow).where(
        TaskClaimRow.id == claim.id, TaskClaimRow.state == expected).values(**values))
    if result.rowcount == 1:
        return
    current = (await conn.execute(select(TaskClaimRow.state).where(
        TaskClaimRow.id == claim.id))).scalar_one()
    final = " (a final state)" if current in FINAL_STATES else ""
    raise TaskStateConflict(f"claim {claim.id} is {current}{final}; this step needs it "
                            f"{expected}")


def report_effect(claim_id: int, evidence: str, refuse: Refuse) -> Effect:
    """The claim's recorder reports completion with evidence: claimed -> reported."""

    async def effect(conn: AsyncConnection, entry: Entry) -> None:
        claim = await _claim(conn, claim_id)
        if claim.party != entry.party:
            refuse()
            raise TaskStepDenied(f"claim {claim_id} was recorded by another party; that party "
                                 "reports its completion", fields=["Mutation.reportTaskCompletion"])
        await _move(conn, claim, "claimed", {"state": "reported", "evidence": evidence,
                                             "report_entry_id": entry.id,
                                             "updated_at": entry.recorded_at})

    return effect


def review_effect(claim_id: int, decision: str, refuse: Refuse) -> Effect:
    """The publisher confirms (points awarded) or rejects (slot freed): reported -> final."""

    async def effect(conn: AsyncConnection, entry: Entry) -> None:
        claim = await _claim(conn, claim_id)
        task = await _task(conn, claim.task_entry_id)
        if task.party != entry.party:
            refuse()
            raise TaskStepDenied(f"task {task.entry_id} was published by another party; only "
                                 "its publisher confirms or rejects",
                                 fields=["Mutation.reviewTaskCompletion"])
        values: dict[str, object] = {"state": decision, "decision_entry_id": entry.id,
                                     "updated_at": entry.recorded_at}
        if decision == "rejected":
            values["slot"] = None
        await _move(conn, claim, "reported", values)
        if decision == "confirmed":
            await award(conn, member_key=claim.member_key, points=task.points,
                        rule=PointRule.TASK_CONFIRMED, entry_id=entry.id,
                        organization=task.organization, party=task.party,
                        at=entry.recorded_at)

    return effect


def visible_tasks(party: str, partners: frozenset[str]) -> ColumnElement[bool]:
    """Tasks a party may list, over `TaskRow`: its own, and those of the parties it shares an
    active contract with."""
    return or_(TaskRow.party == party, TaskRow.party.in_(sorted(partners)))


def visible_claims(party: str) -> ColumnElement[bool]:
    """Claims a party may list: those it recorded, and those of the tasks it published."""
    return or_(TaskClaimRow.party == party, and_(
        TaskClaimRow.task_entry_id.in_(select(TaskRow.entry_id).where(TaskRow.party == party))))


__all__ += ["visible_tasks", "visible_claims"]
