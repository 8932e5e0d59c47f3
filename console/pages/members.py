"""党员台账 and 党员详情: the members the contracts let this party see, filtered and paged,
with the four clarities (四个清楚), which system supplied which field, and the data-quality
issues of this party's own systems; one member's activities, reports, tasks and points,
letters, transfers and who read their data (the access log, for the owning party)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.hub import HubFailure
from console.sessions import Session
from console.web import Page, hub_of, render, require_official

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
    activities(first: 20) {
      totalCount
      nodes { mode activity { title kind startTime online organiser { name } } }
    }
    sources { system localId fetchedAt usedFields }
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
    if member is not None:
        try:
            log = await hub.call(session.official, "member", ACCESS_LOG, {"keys": [key]})
            access = log.data.get("accessLog")
        except HubFailure as failure:
            access_note = failure.sentence
    return render(request, "member.html", title="党员详情", member=member,
                  warnings=answer.warnings, access=access, access_note=access_note)


ROUTES = [
    Route("/members", members_page, methods=["GET"]),
    Route("/members/{key:str}", member_page, methods=["GET"]),
]
