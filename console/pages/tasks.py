"""任务与积分: publish a task (一领, or a community's 群众点单), confirm or reject the completions
members reported, and the points table (积分台账) per member with totals.

The claim's life cycle is the hub's (schema: claimTask -> reportTaskCompletion ->
reviewTaskCompletion): the party that recorded a claim reports its completion, and only the
publisher reviews it, so "claims to confirm" are the REPORTED claims of the tasks this party
published. Confirming awards the task's points in the hub's points ledger; the table here is
read back from it (`points`), summed per member over up to POINT_PAGES pages of 100 awards
(the page says when there were more; the total shown is always the hub's `totalPoints`).
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from console.chinatime import china_time, china_today
from console.hub import ConsoleHub, HubFailure
from console.officials import Official
from console.sessions import Session
from console.web import Page, checked_form, console_of, hub_of, render, require_official

__all__ = ["PAGE", "ROUTES"]

PAGE = Page("tasks", "任务与积分", "/tasks")

#: the hub's bounds for a task (schema TaskInput; hub.exchange.tasks)
MAX_TITLE, MAX_DESCRIPTION, MAX_POINTS, MAX_CAPACITY, MAX_NOTE = 200, 2000, 100, 1000, 500
#: how many of the newest tasks the page reads, with how many claims each (the hub caps a
#: query's cost: 50 x 50 claims is over it)
TASKS_SHOWN, CLAIMS_PER_TASK = 25, 30
#: the points table reads at most this many pages of 100 awards (the total is the hub's)
POINT_PAGES = 10
KINDS = ("ORIGIN_TASK", "COMMUNITY_REQUEST")

SETUP = """
query ConsoleTaskSetup($after: String) {
  sources { name owner }
  organizations(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { code name kind sources { system } }
  }
}
"""

TASKS = """
query ConsoleTasks($first: Int, $claims: Int) {
  tasks(first: $first) {
    totalCount
    nodes {
      number kind title description deadline points capacity claimed open publisher
      publishedAt organization { code name }
      claims(first: $claims) {
        totalCount
        nodes { number state party evidence updatedAt member { key name } }
      }
    }
  }
}
"""

POINTS = """
query ConsolePoints($year: Int, $after: String) {
  points(filter: {year: $year}, first: 100, after: $after) {
    totalCount totalPoints
    pageInfo { hasNextPage endCursor }
    nodes { points rule year party entryNumber awardedAt
            member { key name } organization { code name } }
  }
}
"""

PUBLISH = """
mutation ConsolePublishTask($organization: ID!, $task: TaskInput!, $key: String) {
  publishTask(organization: $organization, task: $task, idempotencyKey: $key) {
    replayed entry { number } task { number title }
  }
}
"""

REVIEW = """
mutation ConsoleReviewTask($claim: Int!, $decision: TaskDecision!, $note: String,
                           $key: String) {
  reviewTaskCompletion(claim: $claim, decision: $decision, note: $note,
                       idempotencyKey: $key) {
    replayed entry { number } claim { number state }
  }
}
"""

_ORG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


async def own_organizations(hub: ConsoleHub, official: Official, party: str, page: str
                            ) -> list[dict[str, Any]]:
    """The organisations a system of this party holds: where the hub lets it record."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(10):
        answer = await hub.call(official, page, SETUP, {"after": after})
        systems = {s["name"] for s in answer.data.get("sources") or ()
                   if s.get("owner") == party}
        orgs = answer.data.get("organizations") or {}
        found.extend(o for o in orgs.get("nodes") or ()
                     if any(s.get("system") in systems for s in o.get("sources") or ()))
        info = orgs.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            break
        after = info.get("endCursor")
    return sorted(found, key=lambda o: str(o.get("code")))


def _points_table(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Awards summed per member, highest first."""
    rows: dict[str, dict[str, Any]] = {}
    for award in nodes:
        member = award.get("member") or {}
        key = str(member.get("key") or "?")
        row = rows.setdefault(key, {"key": key, "name": member.get("name"), "points": 0,
                                    "awards": 0, "rules": defaultdict(int)})
        row["points"] += int(award.get("points") or 0)
        row["awards"] += 1
        row["rules"][award.get("rule")] += int(award.get("points") or 0)
    return sorted(rows.values(), key=lambda r: (-r["points"], str(r["name"] or r["key"])))


async def _points(hub: ConsoleHub, official: Official, year: int
                  ) -> tuple[dict[str, Any], list[dict[str, Any]], bool, tuple[str, ...]]:
    """(the hub's totals, the awards read, whether there were more than read, warnings)."""
    after: str | None = None
    nodes: list[dict[str, Any]] = []
    totals: dict[str, Any] = {"totalCount": 0, "totalPoints": 0}
    more = False
    warnings: tuple[str, ...] = ()
    for _ in range(POINT_PAGES):
        answer = await hub.page_data(official, PAGE.slug, POINTS, {"year": year, "after": after})
        warnings += answer.warnings
        conn = answer.data.get("points") or {}
        totals = {"totalCount": conn.get("totalCount", 0),
                  "totalPoints": conn.get("totalPoints", 0)}
        nodes.extend(conn.get("nodes") or ())
        info = conn.get("pageInfo") or {}
        more = bool(info.get("hasNextPage"))
        if not more:
            break
        after = info.get("endCursor")
    return totals, nodes, more, warnings


def _year(request: Request) -> int:
    this_year = china_today().year
    raw = request.query_params.get("year", "")
    if raw.isdigit() and 2000 <= int(raw) <= this_year + 1:
        return int(raw)
    return this_year


@require_official(PAGE)
async def tasks_page(request: Request, session: Session) -> Response:
    console = console_of(request)
    hub = hub_of(request)
    year = _year(request)
    orgs = await own_organizations(hub, session.official, console.party, PAGE.slug)
    answer = await hub.page_data(session.official, PAGE.slug, TASKS,
                                 {"first": TASKS_SHOWN, "claims": CLAIMS_PER_TASK})
    tasks = (answer.data.get("tasks") or {}).get("nodes") or []
    ours = [t for t in tasks if t.get("publisher") == console.party]
    to_review = [(t, c) for t in ours for c in (t.get("claims") or {}).get("nodes") or ()
                 if c.get("state") == "REPORTED"]
    totals, awards, more, point_warnings = await _points(hub, session.official, year)
    return render(request, "tasks.html", title=PAGE.title, orgs=orgs, tasks=tasks,
                  ours=ours, to_review=to_review, party=console.party, year=year,
                  years=list(range(china_today().year, china_today().year - 3, -1)),
                  totals=totals, table=_points_table(awards), more=more,
                  warnings=tuple(dict.fromkeys(answer.warnings + point_warnings)),
                  kinds=KINDS, form_key=secrets.token_urlsafe(18),
                  default_deadline=china_today().replace(month=12, day=31).isoformat(),
                  cst=china_time, review_keys={c["number"]: secrets.token_urlsafe(18)
                               for _, c in to_review})


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _task_input(form: Any) -> tuple[str, dict[str, Any], list[str]]:
    """(organisation, TaskInput, problems): what the official typed, checked before the hub
    sees it, each problem said in Chinese."""
    problems: list[str] = []
    org = _text(form, "organization")
    if not _ORG.match(org):
        problems.append("请选择发布任务的党组织。")
    kind = _text(form, "kind")
    if kind not in KINDS:
        problems.append("请选择任务类型。")
    title = _text(form, "title")
    if not title or len(title) > MAX_TITLE:
        problems.append(f"请填写任务标题（最多 {MAX_TITLE} 字）。")
    description = _text(form, "description")
    if not description or len(description) > MAX_DESCRIPTION:
        problems.append(f"请填写任务说明（最多 {MAX_DESCRIPTION} 字）。")
    points = _text(form, "points")
    if not points.isdigit() or not 0 <= int(points) <= MAX_POINTS:
        problems.append(f"积分应为 0 到 {MAX_POINTS} 之间的整数。")
    capacity = _text(form, "capacity")
    if not capacity.isdigit() or not 1 <= int(capacity) <= MAX_CAPACITY:
        problems.append(f"名额应为 1 到 {MAX_CAPACITY} 之间的整数。")
    deadline = _text(form, "deadline")
    try:
        day = date.fromisoformat(deadline)
        if day < china_today():
            problems.append("截止日期不能早于今天。")
    except ValueError:
        problems.append("请选择截止日期。")
    task = {"kind": kind, "title": title, "description": description,
            "deadline": f"{deadline}T23:59:00+08:00",
            "points": int(points) if points.isdigit() else 0,
            "capacity": int(capacity) if capacity.isdigit() else 0}
    return org, task, problems


@require_official(PAGE)
async def publish(request: Request, session: Session) -> Response:
    form = await checked_form(request, session)
    org, task, problems = _task_input(form)
    key = _text(form, "idempotency_key")
    if not _KEY.match(key):
        problems.append("表单已过期，请刷新页面后重新填写。")
    if problems:
        session.flash.extend(("error", p) for p in problems)
        return RedirectResponse("/tasks", status_code=303)
    try:
        answer = await hub_of(request).call(session.official, PAGE.slug, PUBLISH,
                                            {"organization": org, "task": task, "key": key})
    except HubFailure as failure:
        session.flash.append(("error", f"任务未发布：{failure.sentence}"))
        return RedirectResponse("/tasks", status_code=303)
    receipt = answer.data["publishTask"]
    number = (receipt.get("task") or {}).get("number") or receipt["entry"]["number"]
    said = "（重复提交，未重复发布）" if receipt.get("replayed") else ""
    session.flash.append(("ok", f"已发布任务第 {number} 号“{task['title']}”{said}。"))
    return RedirectResponse("/tasks", status_code=303)


@require_official(PAGE)
async def review(request: Request, session: Session) -> Response:
    form = await checked_form(request, session)
    claim = _text(form, "claim")
    decision = _text(form, "decision")
    note = _text(form, "note")
    key = _text(form, "idempotency_key")
    if not claim.isdigit() or decision not in {"CONFIRMED", "REJECTED"} \
            or len(note) > MAX_NOTE or not _KEY.match(key):
        session.flash.append(("error", "审核表单不完整，请刷新页面后重试。"))
        return RedirectResponse("/tasks", status_code=303)
    try:
        await hub_of(request).call(session.official, PAGE.slug, REVIEW,
                                   {"claim": int(claim), "decision": decision,
                                    "note": note or None, "key": key})
    except HubFailure as failure:
        session.flash.append(("error", f"第 {claim} 号认领未能审核：{failure.sentence}"))
        return RedirectResponse("/tasks", status_code=303)
    verdict = "已确认完成，积分已计入" if decision == "CONFIRMED" else "已不予确认，名额已释放"
    session.flash.append(("ok", f"第 {claim} 号认领{verdict}。"))
    return RedirectResponse("/tasks", status_code=303)


ROUTES = [
    Route("/tasks", tasks_page, methods=["GET"]),
    Route("/tasks/publish", publish, methods=["POST"]),
    Route("/tasks/review", review, methods=["POST"]),
]
