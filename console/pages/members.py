"""党员台账 and 党员详情: the members the contracts let this party see, filtered and paged,
with the four clarities (四个清楚), which system supplied which field, and the data-quality
issues of this party's own systems; one member's activities, reports, tasks and points,
letters, transfers and who read their data (the access log, for the owning party)."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from console.hub import HubFailure
from console.sessions import Session
from console.web import Page, checked_form, hub_of, render, require_official

__all__ = ["PAGE", "ROUTES"]

PAGE = Page("members", "党员台账", "/members")
PAGE_SIZE = 20

MEMBERS = """
query ConsoleMembers($filter: MemberFilter, $first: Int, $after: String) {
  members(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      key name gender status phone idNumber
      originOrganization { code name }
      destination { region { code name } employer organization { name } }
      sources { system usedFields }
    }
  }
}
"""

ISSUES = """
query ConsoleDataIssues($first: Int) {
  dataQualityIssues(first: $first) {
    totalCount
    nodes { system entity row column code message localId lastSeen }
  }
}
"""

MEMBER = """
query ConsoleMember($key: ID!) {
  member(key: $key) {
    key name gender birthDate status phone idNumber updatedAt
    originOrganization { code name secretary contactPhone }
    destination { region { code name } address employer occupation since
                  organization { code name } }
    fourClarities {
      destination { region { name } address organization { name } }
      work { employer occupation }
      intendsReturnBusiness willingVillageCadre
    }
    activities(last: 20) {
      totalCount
      nodes { mode activity { title kind startTime online organiser { name } } }
    }
    sources { system localId fetchedAt usedFields }
  }
}
"""

#: what the shared ledger holds about one member (one query: one token, one audit entry)
LEDGER = """
query ConsoleMemberLedger($key: ID!) {
  reports: exchangeEntries(filter: {memberKey: $key, actions: ["report", "report_confirmation"]},
                           last: 20) {
    nodes { number action recordedAt party official answers payload }
  }
  points(filter: {memberKey: $key}, first: 20) {
    totalPoints
    nodes { year points ruleText awardedAt organization { name } }
  }
  evaluationLetters(filter: {memberKey: $key}, first: 10) {
    nodes { id year state recommendation pdfUrl senderParty recipientParty }
  }
  membershipTransfers(filter: {memberKey: $key}, first: 10) {
    nodes { number state fromOrganization { name } toOrganization { name } requestedAt }
  }
}
"""

CONFIRM_REPORT = """
mutation ConsoleConfirmReport($report: Int!, $accepted: Boolean!, $key: String) {
  confirmReport(report: $report, accepted: $accepted, idempotencyKey: $key) {
    entry { number }
  }
}
"""

ACCESS_LOG = """
query ConsoleAccessLog($keys: [ID!]!) {
  accessLog(memberKeys: $keys) { seq at party user purpose decision fieldsAllowed fieldsDenied }
}
"""

_REGION = re.compile(r"^\d{6}$")
_STATUSES = ("IN_CONTACT", "LOST_CONTACT", "RETURNED", "TRANSFERRED_OUT")
#: the filter fields the form offers, as the schema's MemberFilter names them
FILTER_FIELDS = ("originRegion", "destinationRegion", "status", "name")


def _filter(request: Request) -> tuple[dict[str, Any], list[str]]:
    """MemberFilter from the query string; malformed values are said, not sent."""
    chosen: dict[str, Any] = {}
    problems: list[str] = []
    for field in FILTER_FIELDS:
        value = request.query_params.get(field, "").strip()
        if not value:
            continue
        if field.endswith("Region") and not _REGION.match(value):
            problems.append("行政区划代码应为 6 位数字，例如 510104。")
        elif field == "status" and value not in _STATUSES:
            problems.append("请选择列表中的状态。")
        elif field == "name" and len(value) > 20:
            problems.append("姓名最多 20 个字。")
        else:
            chosen[field] = value
    return chosen, problems


@require_official(PAGE)
async def members_page(request: Request, session: Session) -> Response:
    chosen, problems = _filter(request)
    after = request.query_params.get("after") or None
    hub = hub_of(request)
    members: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()
    refused: str | None = None
    if not problems:
        try:
            answer = await hub.call(session.official, PAGE.slug, MEMBERS,
                                    {"filter": chosen or None, "first": PAGE_SIZE,
                                     "after": after})
            members, warnings = answer.data.get("members"), answer.warnings
        except HubFailure as failure:
            if failure.code != "CONTRACT_DENIED" or not chosen:
                raise
            refused = failure.sentence
    issues_answer = await hub.call(session.official, PAGE.slug, ISSUES, {"first": 10})
    base = "/members" + ("?" + urlencode(chosen) if chosen else "")
    return render(request, "members.html", title=PAGE.title, members=members,
                  chosen=chosen, problems=problems, refused=refused, warnings=warnings,
                  issues=issues_answer.data.get("dataQualityIssues"), base=base,
                  statuses=_STATUSES)


@require_official(PAGE)
async def member_page(request: Request, session: Session) -> Response:
    key = request.path_params["key"]
    hub = hub_of(request)
    answer = await hub.page_data(session.official, "member", MEMBER, {"key": key})
    member = answer.data.get("member")
    access: list[dict[str, Any]] | None = None
    access_note: str | None = None
    ledger: dict[str, Any] = {}
    ledger_note: str | None = None
    warnings = list(answer.warnings)
    if member is not None:
        try:
            log = await hub.call(session.official, "member", ACCESS_LOG, {"keys": [key]})
            access = log.data.get("accessLog")
        except HubFailure as failure:
            access_note = failure.sentence
        try:
            held = await hub.call(session.official, "member", LEDGER, {"key": key})
            ledger = held.data
            warnings += [w for w in held.warnings if w not in warnings]
        except HubFailure as failure:
            ledger_note = failure.sentence
    return render(request, "member.html", title="党员详情", member=member,
                  warnings=warnings, access=access, access_note=access_note,
                  reports=_reports(ledger.get("reports")), ledger=ledger,
                  ledger_note=ledger_note, form_key=secrets.token_urlsafe(12))


def _reports(entries: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Reports newest first, each with the confirmation answering it (or None)."""
    nodes = (entries or {}).get("nodes") or []
    answers = {n.get("answers"): n for n in nodes if n.get("action") == "report_confirmation"}
    reports = [dict(n, confirmation=answers.get(n.get("number")))
               for n in nodes if n.get("action") == "report"]
    return sorted(reports, key=lambda r: r.get("number") or 0, reverse=True)


@require_official(PAGE)
async def confirm_report(request: Request, session: Session) -> Response:
    """确认 or 退回 a member's report (the origin's step; the hub refuses anyone else)."""
    form = await checked_form(request, session)
    key = request.path_params["key"]
    try:
        number = int(request.path_params["number"])
    except ValueError:
        return RedirectResponse(f"/members/{quote(key)}", status_code=303)
    accepted = form.get("accepted") == "true"
    idempotency = str(form.get("form_key") or "")[:64] or None
    await hub_of(request).call(session.official, "member", CONFIRM_REPORT,
                               {"report": number, "accepted": accepted, "key": idempotency})
    session.flash.append(("ok", "已确认该报告。" if accepted else "已退回该报告。"))
    return RedirectResponse(f"/members/{quote(key)}#reports", status_code=303)


ROUTES = [
    Route("/members", members_page, methods=["GET"]),
    Route("/members/{key:str}", member_page, methods=["GET"]),
    Route("/members/{key:str}/reports/{number:str}/confirm", confirm_report, methods=["POST"]),
]
