"""A year of workflow history in the demo world: 一领 tasks and points, organisation life.

Seeded after the first sync, into the exchange ledger, under the demo's signed contracts, as
the parties would have recorded it month by month over the twelve months before the current
one: each entry is checked with the contract policy the guard uses (record permission for the
member, the organisation the party's own) and appended with its audit decision and its effects
(hub.exchange.tasks, hub.exchange.orglife), so tasks, claims, points, activities and attendance
are exactly what the live mutations would have left. Seeded with the world's seed: the same
members, modes and decisions on every run (the dates follow the current month).

- Organisation life: the four 成都 branches most members of 叙州区 (the two-party contract's
  origin) attend each record a 主题党日 each month, 志愿服务 with hours each quarter,
  组织生活会 and 民主评议 each January, with every expected member's attendance (present,
  online, by report, excused, absent) and guests; a few members attend rarely and show up
  in compliance lists.
- Tasks: 叙州区's villages publish 一领 tasks (帮村里销售脐橙 ...), 成都's branches publish
  群众点单 requests; 成都 records the claims of the members living there, reports their
  completion, and the publisher confirms most, rejects some, leaves a few to review.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.audit.log import AuditEvent, Decision
from hub.clock import format_time
from hub.contracts.demo import DEMO_PURPOSE
from hub.contracts.trust import Trust
from hub.exchange.ledger import Draft, Effect, Entry, append
from hub.exchange.orglife import OrganizationLife, organization_life_effect
from hub.exchange.payloads import Payload
from hub.exchange.schedule import CST
from hub.exchange.tables import TaskClaimRow
from hub.exchange.tasks import (
    TaskClaim,
    TaskCompletion,
    TaskFull,
    TaskNotEligible,
    TaskPublication,
    TaskReview,
    TaskStateConflict,
    claim_effect,
    publish_effect,
    report_effect,
    review_effect,
)
from hub.federation.sources import SourceRegistry
from hub.policy.base import Caller, Policy, SubjectWithOwners
from hub.store.models import MemberRow, OrganizationRow, SourceLinkRow

__all__ = ["SeedSummary", "seed_workflows", "example_operations", "ORIGIN", "DESTINATION",
           "OBSERVER"]

ORIGIN = "xuzhou-county-org"
DESTINATION = "chengdu-rcxf-operator"
OBSERVER = "sichuan-org-dept"
_OFFICIAL = "demo-seed"

_ORIGIN_TASKS = (
    ("帮村里销售脐橙", "在流入地朋友圈、单位食堂帮村里销售脐橙，每人至少10箱，附订单截图。", 10),
    ("宣传家乡文旅", "在流入地转发家乡春节文旅活动，邀请同事返乡过年。", 5),
    ("收集返乡创业意向", "了解身边老乡返乡创业、担任村干部的意愿，填写意向表。", 8),
    ("春节返乡慰问困难党员", "返乡期间随村党支部走访慰问困难党员和老党员。", 10),
)
_COMMUNITY_REQUESTS = (
    ("社区老人助餐点单", "为社区独居老人送餐，每周两次。", 6),
    ("小区垃圾分类督导", "早晚高峰在小区垃圾投放点督导分类。", 4),
    ("外卖骑手暖心驿站值守", "周末在暖心驿站值守，为新就业群体提供饮水、充电。", 5),
)
#: each January: (kind, title)
_JANUARY = (("organization_life_meeting", "年度组织生活会"),
            ("democratic_review", "年度民主评议党员"))


@dataclass
class SeedSummary:
    """What the seed wrote, and what the demo prints its examples with."""

    entries: int = 0
    activities: int = 0
    tasks: int = 0
    claims: int = 0
    points: int = 0
    branches: list[str] = field(default_factory=list)
    villages: list[str] = field(default_factory=list)
    task_numbers: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Member:
    key: str
    origin_org: str
    destination_org: str
    subject: SubjectWithOwners
    #: how often this member takes part (a few rarely do)
    keenness: float


class _Seeder:
    def __init__(self, trust: Trust, sessions: async_sessionmaker[AsyncSession],
                 registry: SourceRegistry, seed: int, now: datetime) -> None:
        self.trust = trust
        self.sessions = sessions
        self.registry = registry
        self.rng = random.Random(f"workflows:{seed}")
        self.now = now
        self.summary = SeedSummary()
        self.policies: dict[str, Policy] = {}

    async def policy(self, party: str) -> Policy:
        """The policy the guard would ask for this party's requests (the demo's contracts)."""
        if party not in self.policies:
            self.policies[party] = await self.trust.policy_for(self._caller(party))
        return self.policies[party]

    @staticmethod
    def _caller(party: str) -> Caller:
        return Caller(party=party, user=_OFFICIAL, purpose=DEMO_PURPOSE)

    async def record(self, party: str, payload: Payload, organization: str, at: datetime, *,
                     member: _Member | None = None, members: Sequence[_Member] = (),
                     answers: int | None = None, effects: tuple[Effect, ...] = (),
                     key: str) -> Entry | None:
        """Append one entry as the guard would (None when a contract would refuse it)."""
        policy = await self.policy(party)
        caller = self._caller(party)
        subjects = [m.subject for m in ([member] if member else members)]
        if not subjects:
            if not policy.can_record(caller, None, payload.permission):
                return None
            digests = policy.contract_digests(caller)
        else:
            if not all(policy.can_record(caller, s, payload.permission) for s in subjects):
                return None
            digests = sorted({d for s in subjects for d in policy.contract_digests(caller, s)})
        draft = Draft(payload=payload, organizations=(organization,), party=party,
                      member_key=member.key if member else None, official=_OFFICIAL,
                      purpose=DEMO_PURPOSE, contracts=tuple(digests),
                      idempotency_key=f"demo-seed-{key}", answers=answers, effects=effects)
        keys = [member.key] if member else [m.key for m in members]

        def event(entry: Entry) -> AuditEvent:
            return AuditEvent(at=entry.recorded_at, party=party, user=_OFFICIAL,
                              purpose=DEMO_PURPOSE, decision=Decision.ALLOWED,
                              operation_hash="0" * 64, contract_digests=tuple(digests),
                              member_keys=keys, entry=entry.id, action=payload.action)

        appended = await append(self.trust.audit_log, draft, event, now=at)
        self.summary.entries += 1
        return appended.entry

    async def members(self) -> list[_Member]:
        """Members of 叙州区 living in 成都 with a destination branch, with the parties owning
        their linked records (as the API's subjects carry them)."""
        async with self.sessions() as session:
            rows = list(await session.scalars(select(MemberRow).where(
                MemberRow.origin_region_code == "511502",
                MemberRow.destination_region_code.startswith("5101"),
                MemberRow.destination_org_id.is_not(None),
                MemberRow.origin_org_id.is_not(None)).order_by(MemberRow.key)))
            links = (await session.execute(select(SourceLinkRow.member_key,
                                                  SourceLinkRow.source).where(
                SourceLinkRow.member_key.in_([r.key for r in rows])))).all()
        owners: dict[str, set[str]] = defaultdict(set)
        for key, source in links:
            owner = self.registry.owner_of(source)
            if owner and key:
                owners[key].add(owner)
        out = []
        for row in rows:
            subject = SubjectWithOwners(
                member_key=row.key, origin_org_id=row.origin_org_id,
                origin_region_code=row.origin_region_code,
                destination_region_code=row.destination_region_code, status=row.status,
                owners=frozenset(owners[row.key]))
            keenness = 0.25 if self.rng.random() < 0.12 else 0.9
            assert row.origin_org_id is not None and row.destination_org_id is not None
            out.append(_Member(row.key, row.origin_org_id, row.destination_org_id, subject,
                               keenness))
        return out

    async def own_organizations(self, party: str) -> set[str]:
        """Organisations a source of `party` holds (where it may record)."""
        async with self.sessions() as session:
            rows = list(await session.scalars(select(OrganizationRow)))
        return {r.org_id for r in rows
                if any(self.registry.owner_of(str(s.get("system", ""))) == party
                       for s in (r.sources or []) if isinstance(s, dict))}

    def mode(self, member: _Member, online_meeting: bool) -> str:
        r = self.rng.random()
        if r > member.keenness:
            return "absent" if self.rng.random() < 0.6 else "excused"
        r = self.rng.random()
        if online_meeting:
            return "online" if r < 0.8 else "by_report"
        return "present" if r < 0.62 else "online" if r < 0.82 else "by_report"

    async def organisation_life(self, members: list[_Member], start: datetime) -> None:
        ours = await self.own_organizations(DESTINATION)
        by_branch: dict[str, list[_Member]] = defaultdict(list)
        for m in members:
            if m.destination_org in ours:
                by_branch[m.destination_org].append(m)
        # the four branches most of them attend (a demo, not a census: it stays quick)
        self.summary.branches = sorted(by_branch, key=lambda b: (-len(by_branch[b]), b))[:4]
        for branch in sorted(self.summary.branches):
            expected = by_branch[branch]
            for month in range(12):
                first = _add_months(start, month)
                plan: list[tuple[int, str, str, bool, float | None]] = [
                    (5, "themed_party_day", f"{first.month}月主题党日", month % 4 == 3, None)]
                if month % 3 == 1:
                    plan.append((18, "volunteer_service", "党员志愿服务：社区环境整治", False,
                                 2.0))
                if first.month == 1:
                    plan += [(12 + i, kind, title, False, None)
                             for i, (kind, title) in enumerate(_JANUARY)]
                if first.month == 6:
                    plan.append((14, "training", "流动党员集中培训", True, None))
                for day, kind, title, online, hours in plan:
                    when = first.replace(day=day, hour=19 if hours is None else 9)
                    life = OrganizationLife(
                        kind=kind, title=title, start_time=format_time(when.astimezone(UTC)),
                        online=online, members=tuple(m.key for m in expected),
                        modes=tuple(self.mode(m, online) for m in expected),
                        guests=self.rng.choice((0, 0, 0, 3, 10)), hours=hours)
                    entry = await self.record(
                        DESTINATION, life, branch, when.astimezone(UTC) + timedelta(days=1),
                        members=expected, effects=(organization_life_effect(life),),
                        key=f"life-{branch}-{when:%Y%m%d}-{kind}")
                    if entry is not None:
                        self.summary.activities += 1

    async def tasks(self, members: list[_Member], start: datetime) -> None:
        villages = sorted({m.origin_org for m in members}
                          & await self.own_organizations(ORIGIN))
        branches = sorted({m.destination_org for m in members}
                          & await self.own_organizations(DESTINATION))
        self.summary.villages = villages
        plans: list[tuple[str, str, str, str, int, int]] = []  # party, org, kind, title, ...
        for i, (title, _, points) in enumerate(_ORIGIN_TASKS):
            for village in villages:
                plans.append((ORIGIN, village, "origin_task", title, points, 2 + i * 3))
        for i, (title, _, points) in enumerate(_COMMUNITY_REQUESTS):
            for branch in branches[:2]:
                plans.append((DESTINATION, branch, "community_request", title, points,
                              1 + i * 4))
        descriptions = {t: d for t, d, _ in (*_ORIGIN_TASKS, *_COMMUNITY_REQUESTS)}
        for n, (party, org, kind, title, points, month) in enumerate(plans):
            published = _add_months(start, month).replace(day=8, hour=10).astimezone(UTC)
            deadline = published + timedelta(days=45)
            capacity = self.rng.choice((3, 5, 8))
            task = TaskPublication(kind=kind, title=title, description=descriptions[title],
                                   deadline=format_time(deadline), points=points,
                                   capacity=capacity)
            region = "511502" if party == ORIGIN else None
            entry = await self.record(party, task, org, published,
                                      effects=(publish_effect(task, region),),
                                      key=f"task-{n}")
            if entry is None:
                continue
            self.summary.tasks += 1
            self.summary.task_numbers.append(entry.id)
            eligible = [m for m in members if m.destination_org in branches
                        and (m.origin_org == org if kind == "origin_task"
                             else m.destination_org == org)]
            self.rng.shuffle(eligible)
            for k, member in enumerate(eligible[:capacity + 1]):
                await self.claim(entry, member, published + timedelta(days=2 + k), party,
                                 deadline)

    async def claim(self, task: Entry, member: _Member, at: datetime, publisher: str,
                    deadline: datetime) -> None:
        if at >= deadline or at >= self.now:
            return
        try:
            claim = await self.record(
                DESTINATION, TaskClaim(note=None), member.destination_org, at, member=member,
                answers=task.id, effects=(claim_effect(task.id, member.key),),
                key=f"claim-{task.id}-{member.key[:16]}")
        except (TaskFull, TaskStateConflict, TaskNotEligible):
            return  # one more than the places: refused as live, nothing written
        if claim is None:
            return
        self.summary.claims += 1
        async with self.sessions() as session:
            row = (await session.scalars(select(TaskClaimRow).where(
                TaskClaimRow.claim_entry_id == claim.id))).first()
        assert row is not None
        done = at + timedelta(days=self.rng.randint(5, 20))
        if self.rng.random() < 0.15 or done >= self.now:
            return  # still working on it
        evidence = self.rng.choice(("已完成，附照片与签到表。", "已售出12箱，附订单截图。",
                                    "已服务4小时，社区书记签字确认。"))
        report = await self.record(
            DESTINATION, TaskCompletion(evidence=evidence), member.destination_org, done,
            member=member, answers=claim.id,
            effects=(report_effect(row.id, evidence, lambda: None),),
            key=f"report-{claim.id}")
        decided = done + timedelta(days=self.rng.randint(1, 6))
        if report is None or self.rng.random() < 0.1 or decided >= self.now:
            return  # awaiting the publisher
        verdict = "rejected" if self.rng.random() < 0.12 else "confirmed"
        publishing_org = task.organization
        entry = await self.record(
            publisher, TaskReview(decision=verdict, note=None), publishing_org, decided,
            member=member, answers=report.id,
            effects=(review_effect(row.id, verdict, lambda: None),),
            key=f"review-{report.id}")
        if entry is not None and verdict == "confirmed":
            self.summary.points += 1


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=total // 12, month=total % 12 + 1)


async def seed_workflows(trust: Trust, sessions: async_sessionmaker[AsyncSession],
                         registry: SourceRegistry, *, seed: int,
                         now: datetime) -> SeedSummary:
    """Seed the twelve months before `now`'s month (module docstring)."""
    start = _add_months(now.astimezone(CST).replace(day=1, hour=0, minute=0, second=0,
                                                    microsecond=0), -12)
    seeder = _Seeder(trust, sessions, registry, seed, now)
    members = await seeder.members()
    await seeder.organisation_life(members, start)
    await seeder.tasks(members, start)
    return seeder.summary


def example_operations(summary: SeedSummary, year: int) -> list[tuple[str, str]]:
    """(title, operation) for the demo banner: one per workflow, naming the party to pick."""
    branch = summary.branches[0] if summary.branches else "510115D001"
    village = summary.villages[0] if summary.villages else "511502V001"
    return [
        (f"一领 tasks, as {ORIGIN} (publish) or {DESTINATION} (claims): the year's tasks, "
         "their places and claims",
         "{ tasks(first: 3) { totalCount nodes { number title kind points capacity claimed "
         "open publisher\n    claims(first: 3) { totalCount nodes { state evidence member { "
         "key status } } } } } }"),
        (f"Publish a task, as {ORIGIN} (then claimTask / reportTaskCompletion as "
         f"{DESTINATION}, reviewTaskCompletion as {ORIGIN})",
         f'mutation {{ publishTask(organization: "{village}", idempotencyKey: "orange-1",\n'
         '  task: {kind: ORIGIN_TASK, title: "帮村里销售脐橙", description: "每人至少10箱",\n'
         '         deadline: "2099-12-31T23:59:00+08:00", points: 10, capacity: 5}) {\n'
         "  replayed entry { number action } task { number title open } } }"),
        (f"Points ledger (积分台账), as {ORIGIN} or {DESTINATION}",
         f"{{ points(filter: {{year: {year}}}, first: 5) {{ totalCount totalPoints\n"
         "    nodes { points rule ruleText year member { key } organization { name } } } }"),
        (f"Organisation life, as {DESTINATION}: record a meeting with attendance in one "
         "mutation (pick member keys from `members`)",
         f'mutation {{ recordOrganizationLife(organization: "{branch}", guests: 3,\n'
         '  activity: {kind: THEMED_PARTY_DAY, title: "主题党日", '
         'startTime: "2026-12-05T19:00:00+08:00"},\n'
         '  attendance: [{memberKey: "KEY", mode: PRESENT}, {memberKey: "KEY2", mode: '
         "BY_REPORT}]) {\n"
         "  entry { number } activity { attendance { expected present online byReport "
         "participationRate } } } }"),
        (f"Members below the yearly rules (one on-site, four activities), as {DESTINATION} "
         f"or {ORIGIN}",
         f'{{ organizationLifeCompliance(organization: "{branch}", year: {year}, first: 5) {{\n'
         "  totalCount nodes { member { key status } activities onSite shortfalls } } }"),
        ("Obligations (每季度通联台账, 年终发函), as any party: due, fulfilled, overdue",
         "{ obligations(first: 6) { totalCount nodes { contractTitle description party to "
         "periodStart dueAt state fulfilledBy } } }"),
        (f"Statistics, as {OBSERVER} (四川省委组织部, an observer: aggregates only, small cells "
         "suppressed)",
         "{ statistics(measure: MEMBERS_BY_STATUS, groupBy: DESTINATION_ORGANIZATION, "
         "first: 20) {\n  minCount nodes { row rowName column count suppressed total } } }\n"
         f"{{ statistics(measure: PARTICIPATION_RATE, year: {year}, first: 20) {{ nodes {{ "
         "row column count value suppressed } } }"),
    ]
