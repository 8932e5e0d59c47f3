"""组织生活: record an activity and everyone's attendance in one form, and the members below
the yearly minimum.

The form lists the members of one of the party's organisations (`Organization.members`),
each with how they took part (现场 / 线上 / 书面报告 / 请假 / 缺席, or not listed). While the
official fills it in, htmx posts it to `/orglife/rate`, which answers the participation rate
as the hub will compute it (console.participation). Saving sends `recordOrganizationLife`
(one ledger entry for the whole activity) with the idempotency key the form was rendered
with, so a double submit records once; the page then shows the hub's own figures. Below:
`organizationLifeCompliance` of the organisation for a year (at least one activity on site,
004; at least four activities, 002).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from console.chinatime import china_today
from console.hub import HubFailure
from console.own_organizations import OwnOrganization, own_organizations
from console.participation import MODES, Tally, percent, tally
from console.sessions import Session
from console.web import (
    SECURITY_HEADERS,
    Page,
    checked_form,
    console_of,
    environment,
    hub_of,
    render,
    require_official,
)

__all__ = ["PAGE", "ROUTES", "LifeForm", "parse_form"]

PAGE = Page("orglife", "组织生活", "/orglife")
#: members listed in the form (a branch is far smaller; more are said, not silently cut)
MAX_MEMBERS = 100
MAX_TITLE = 300
MAX_GUESTS = 10_000
KINDS = ("THEMED_PARTY_DAY", "BRANCH_MEMBER_MEETING", "BRANCH_COMMITTEE_MEETING",
         "PARTY_GROUP_MEETING", "PARTY_LECTURE", "ORGANIZATION_LIFE_MEETING",
         "DEMOCRATIC_REVIEW", "VOLUNTEER_SERVICE", "TRAINING")
SHORTFALLS = {"ON_SITE": "全年未现场参加过组织生活（每年至少 1 次现场参加）",
              "ACTIVITIES": "全年参加不足 4 次（每年至少 4 次）"}
_MEMBER_KEY = re.compile(r"^[A-Za-z0-9:_-]{1,128}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

PAGE_DATA = """
query ConsoleOrgLife($organization: ID!, $year: Int, $first: Int) {
  organization(code: $organization) {
    code name
    members(first: $first) { totalCount nodes { key name } }
  }
  organizationLifeCompliance(organization: $organization, year: $year, belowOnly: true,
                             first: 50) {
    totalCount
    nodes { member { key name } year activities onSite shortfalls }
  }
}
"""

RECORD = """
mutation ConsoleRecordOrganizationLife($organization: ID!, $activity: ActivityInput!,
    $attendance: [AttendanceInput!]!, $guests: Int!, $key: String) {
  recordOrganizationLife(organization: $organization, activity: $activity,
                         attendance: $attendance, guests: $guests, idempotencyKey: $key) {
    replayed
    entry { number official }
    activity { title attendance { expected present online excused byReport guests
                                  participationRate } }
  }
}
"""


@dataclass
class LifeForm:
    """The form as the official filled it in (kept when it is shown again with a problem)."""

    organization: str = ""
    kind: str = "THEMED_PARTY_DAY"
    title: str = ""
    day: str = ""
    time: str = "19:00"
    online: bool = False
    guests: str = "0"
    key: str = ""
    #: member key -> mode, for the members listed
    modes: dict[str, str] = field(default_factory=dict)

    @property
    def tally(self) -> Tally:
        return tally(self.modes.values())


def _today() -> date:
    return china_today()


def parse_form(form: FormData) -> tuple[LifeForm, list[str]]:
    """The posted form and what is wrong with it, in sentences (nothing is sent then)."""
    problems: list[str] = []
    modes = {}
    for name, value in form.multi_items():
        if name.startswith("mode-") and isinstance(value, str) and value:
            member = name[len("mode-"):]
            if not _MEMBER_KEY.match(member) or value not in MODES:
                problems.append("参加方式填写有误，请刷新页面后重新填写。")
                break
            modes[member] = value
    life = LifeForm(organization=str(form.get("organization") or ""),
                    kind=str(form.get("kind") or ""), title=str(form.get("title") or "").strip(),
                    day=str(form.get("day") or ""), time=str(form.get("time") or ""),
                    online=form.get("online") == "on", guests=str(form.get("guests") or "0"),
                    key=str(form.get("idempotency_key") or ""), modes=modes)
    if life.kind not in KINDS:
        problems.append("请选择活动类型。")
    if not life.title:
        problems.append("请填写活动名称。")
    elif len(life.title) > MAX_TITLE:
        problems.append(f"活动名称最多 {MAX_TITLE} 个字。")
    try:
        date.fromisoformat(life.day)
    except ValueError:
        problems.append("请填写活动日期。")
    if not _TIME.match(life.time):
        problems.append("请填写开始时间，例如 19:00。")
    if not life.guests.isdigit() or int(life.guests) > MAX_GUESTS:
        problems.append(f"列席人数应为 0 到 {MAX_GUESTS} 之间的整数。")
    if not modes and not problems:
        problems.append("请至少为一名党员选择参加方式。")
    if not 8 <= len(life.key) <= 64:
        problems.append("表单已过期，请刷新页面后重新填写。")
    return life, problems


def _year(request: Request) -> int:
    raw = request.query_params.get("year", "")
    this_year = _today().year
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= this_year + 1 else this_year


def _default_org(orgs: list[OwnOrganization]) -> str:
    branches = [o for o in orgs if o.kind != "COMMITTEE"]
    return (branches or orgs)[0].code if orgs else ""


async def _show(request: Request, session: Session, life: LifeForm, year: int, *,
                problems: list[str], status: int = 200, refused: str | None = None
                ) -> Response:
    """The page for `life`; `refused`: the member the hub would not record (its
    CONTRACT_DENIED names them), said by name and marked in the form."""
    console = console_of(request)
    orgs = await own_organizations(console, session.official, PAGE.slug)
    if not any(o.code == life.organization for o in orgs):
        life.organization = _default_org(orgs)
    data: dict[str, Any] = {}
    warnings: tuple[str, ...] = ()
    if life.organization:
        answer = await hub_of(request).page_data(
            session.official, PAGE.slug, PAGE_DATA,
            {"organization": life.organization, "year": year, "first": MAX_MEMBERS})
        data, warnings = answer.data, answer.warnings
    organization = data.get("organization") or {}
    members = (organization.get("members") or {})
    if refused is not None:
        name = next((m.get("name") for m in members.get("nodes") or ()
                     if m.get("key") == refused), None) or "（未授权查看姓名）"
        problems = [f"双向共管协议未授予本方为党员{name}记录组织生活出勤的权限，"
                    "请将其参加方式改为“不列入”后再保存。"]
    return render(request, "orglife.html", status=status, title=PAGE.title, orgs=orgs,
                  life=life, year=year, years=range(_today().year, _today().year - 3, -1),
                  organization=organization, members=members.get("nodes") or [],
                  member_total=members.get("totalCount") or 0, max_members=MAX_MEMBERS,
                  compliance=data.get("organizationLifeCompliance"), shortfalls=SHORTFALLS,
                  modes=MODES, kinds=KINDS, problems=problems, warnings=warnings,
                  tally=life.tally, percent=percent, refused=refused)


@require_official(PAGE)
async def orglife_page(request: Request, session: Session) -> Response:
    life = LifeForm(organization=request.query_params.get("org", ""),
                    day=_today().isoformat(), key=secrets.token_urlsafe(16))
    return await _show(request, session, life, _year(request), problems=[])


@require_official(PAGE)
async def rate(request: Request, session: Session) -> Response:
    """The participation rate of the form as it stands (htmx, on every change)."""
    form = await checked_form(request, session)
    life, _ = parse_form(form)
    # not `render`: a fragment must not take the page's one-shot flash (a rate request still
    # in flight when the form is saved would swallow the "已记录" message)
    html = environment().get_template("orglife_rate.html").render(tally=life.tally,
                                                                   percent=percent)
    return HTMLResponse(html, headers=dict(SECURITY_HEADERS))


@require_official(PAGE)
async def record(request: Request, session: Session) -> Response:
    form = await checked_form(request, session)
    life, problems = parse_form(form)
    console = console_of(request)
    if not problems:
        orgs = await own_organizations(console, session.official, PAGE.slug)
        if not any(o.code == life.organization for o in orgs):
            problems.append("请选择本方的党组织。")
    if problems:
        return await _show(request, session, life, _today().year, problems=problems,
                           status=400)
    variables = {
        "organization": life.organization,
        "activity": {"kind": life.kind, "title": life.title, "online": life.online,
                     "startTime": f"{life.day}T{life.time}:00+08:00"},
        "attendance": [{"memberKey": k, "mode": m} for k, m in life.modes.items()],
        "guests": int(life.guests), "key": life.key,
    }
    try:
        answer = await hub_of(request).call(session.official, PAGE.slug, RECORD, variables)
    except HubFailure as failure:
        member = failure.extensions.get("memberKey") \
            if failure.code == "CONTRACT_DENIED" else None
        return await _show(request, session, life, _today().year, problems=[failure.sentence],
                           status=400 if failure.code in {"BAD_USER_INPUT",
                                                          "CONTRACT_DENIED"} else 200,
                           refused=str(member) if member in life.modes else None)
    receipt = answer.data["recordOrganizationLife"]
    summary = ((receipt.get("activity") or {}).get("attendance") or {})
    again = "（此前已提交过，未重复记录）" if receipt.get("replayed") else ""
    session.flash.append(("ok", (
        f"已记录“{life.title}”{again}，台账第 {receipt['entry']['number']} 号。枢纽核定："
        f"应到 {summary.get('expected')} 人，现场 {summary.get('present')} 人、线上 "
        f"{summary.get('online')} 人、书面报告 {summary.get('byReport')} 人、请假 "
        f"{summary.get('excused')} 人，列席 {summary.get('guests')} 人；"
        f"参与率 {percent(summary.get('participationRate'))}。")))
    return RedirectResponse(f"/orglife?org={life.organization}", status_code=303,
                            headers=dict(SECURITY_HEADERS))


ROUTES = [
    Route("/orglife", orglife_page, methods=["GET"]),
    Route("/orglife", record, methods=["POST"]),
    Route("/orglife/rate", rate, methods=["POST"]),
]
