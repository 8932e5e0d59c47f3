"""履约: the instances of this party's contract obligations (如每季度通联流动党员台账、年终发函),
grouped by state — overdue first (逾期), then due (待履行), then fulfilled (已履行) — each with the
contract's title, who owes it to whom, the period and its deadline, and the ledger entry that
fulfilled it. The hub computes the states (hub.exchange.obligations); the page only reads
`obligations`, so a signed reconciliation shows up here as fulfilled on the next load."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.chinatime import china_moment
from console.messages import party_name
from console.sessions import Session
from console.web import Page, console_of, hub_of, render, require_official

__all__ = ["PAGE", "ROUTES", "STATE_ORDER"]

#: the parties that owe and are owed; an observer (四川省委组织部) reads obligations met as
#: figures on 统计, its landing page (the hub would answer it here too)
PAGE = Page("obligations", "履约", "/obligations")
PAGE_SIZE = 100

OBLIGATIONS = """
query ConsoleObligations($filter: ObligationFilter, $first: Int, $after: String) {
  obligations(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      key contractId contractTitle action description schedule party to
      periodStart dueAt graceUntil state fulfilledBy fulfilledAt
    }
  }
}
"""

#: the groups in the order an official acts on them
STATE_ORDER = ("OVERDUE", "DUE", "FULFILLED")
STATE_NAMES = {"OVERDUE": "逾期", "DUE": "待履行", "FULFILLED": "已履行"}
ACTION_NAMES = {"reconciliation": "双向对账", "evaluation_letter": "年终发函"}
SCHEDULE_NAMES = {"monthly": "每月", "quarterly": "每季度", "yearly": "每年"}




def period_label(start: datetime, schedule: str) -> str:
    """2026年第3季度 / 2026年 / 2026年7月."""
    if schedule == "quarterly":
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    if schedule == "yearly":
        return f"{start.year}年"
    if schedule == "monthly":
        return f"{start.year}年{start.month}月"
    return start.date().isoformat() + " 起"


def _shown(node: dict[str, Any]) -> dict[str, Any]:
    """The node with its times as officials read them (Beijing dates; the last day of the
    period, not the midnight after it)."""
    start, due, grace = (china_moment(node.get(k)) for k in ("periodStart", "dueAt", "graceUntil"))
    done = china_moment(node.get("fulfilledAt"))
    return {**node,
            "period": period_label(start, node["schedule"]) if start else "",
            "lastDay": (due - timedelta(seconds=1)).date().isoformat() if due else "",
            "graceDay": (grace - timedelta(seconds=1)).date().isoformat() if grace else "",
            "doneAt": done.strftime("%Y-%m-%d %H:%M") if done else ""}


def _groups(nodes: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    return [(state, [_shown(n) for n in nodes if n["state"] == state]) for state in STATE_ORDER]


@require_official(PAGE)
async def obligations_page(request: Request, session: Session) -> Response:
    action = request.query_params.get("action") or None
    if action not in ACTION_NAMES:
        action = None
    after = request.query_params.get("after") or None
    answer = await hub_of(request).page_data(
        session.official, PAGE.slug, OBLIGATIONS,
        {"filter": {"action": action} if action else None, "first": PAGE_SIZE, "after": after})
    found = answer.data.get("obligations") or {"nodes": [], "totalCount": 0, "pageInfo": {}}
    base = "/obligations" + (f"?action={action}" if action else "")
    return render(request, "obligations.html", title=PAGE.title, obligations=found,
                  groups=_groups(found["nodes"]), warnings=answer.warnings, action=action,
                  base=base, states=STATE_NAMES, actions=ACTION_NAMES,
                  schedules=SCHEDULE_NAMES, pname=party_name, me=console_of(request).party)


ROUTES = [Route("/obligations", obligations_page, methods=["GET"])]
