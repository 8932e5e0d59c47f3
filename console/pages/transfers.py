"""组织关系转接: the membership transfers this party takes part in, each with the step it waits
for and whose turn that is, the step buttons the rules give this party, the members due for a
step (外出三个月编入流入地党组织, 六个月未转接编入流动党员党支部), and a request form.

The rules are the hub's (hub.exchange.transfer_rules): the origin (流出地, 党籍管理) approves and
completes, the receiving party accepts, either may reject once approved, the requester
withdraws before acceptance. The page offers only the buttons the rules give this party in the
transfer's state, but the hub decides: a step posted from a stale page (the other side moved
first) or by the wrong party comes back STATE_CONFLICT / WRONG_PARTY, shown as its sentence.
Every form carries an idempotency key made when it was rendered, so a double submit records once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from console.hub import HubFailure
from console.messages import party_name
from console.sessions import Session
from console.web import Page, checked_form, console_of, hub_of, render, require_official

__all__ = ["PAGE", "ROUTES", "next_step", "buttons_for"]

PAGE = Page("transfers", "组织关系转接", "/transfers")
PAGE_SIZE = 30

TRANSFERS = """
query ConsoleTransfers($filter: TransferFilter, $first: Int, $after: String) {
  membershipTransfers(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      number state final memberKey reason requestedAt updatedAt
      member { name }
      fromOrganization { code name }
      toOrganization { code name }
      originParty receivingParty branchParty requesterParty
    }
  }
}
"""

DUE = """
query ConsoleDue($first: Int) {
  attach: membersDueForStep(step: ATTACH_DESTINATION_BRANCH, first: $first) {
    totalCount
    nodes { step awaySince member { key name originOrganization { code name }
                                    destination { organization { code name } } } }
  }
  floating: membersDueForStep(step: FLOATING_BRANCH, first: $first) {
    totalCount
    nodes { step awaySince member { key name originOrganization { code name }
                                    destination { organization { code name } } } }
  }
}
"""

MEMBER = """
query ConsoleTransferMember($key: ID!) {
  member(key: $key) { key name originOrganization { code } destination { organization { code } } }
}
"""

_RECEIPT = "{ replayed entry { number } transfer { number state } }"
STEP_MUTATIONS: dict[str, str] = {
    action: f"""
mutation ConsoleTransfer{action.title()}($transfer: Int!, $note: String, $key: String) {{
  {action}MembershipTransfer(transfer: $transfer, note: $note, idempotencyKey: $key) {_RECEIPT}
}}
""" for action in ("approve", "accept", "complete", "reject", "withdraw")}

REQUEST = f"""
mutation ConsoleTransferRequest($member: ID!, $organization: ID!, $to: ID!, $reason: String,
                                $key: String) {{
  requestMembershipTransfer(memberKey: $member, organization: $organization,
                            toOrganization: $to, reason: $reason, idempotencyKey: $key)
  {_RECEIPT}
}}
"""

#: the state's Chinese name, as the articles call the steps
STATE_NAMES = {"REQUESTED": "已申请", "APPROVED": "流出地已同意", "ACCEPTED": "转入方已接收",
               "COMPLETED": "已完成", "REJECTED": "已拒绝", "WITHDRAWN": "已撤回"}
ACTION_NAMES = {"approve": "同意转出", "accept": "接收", "complete": "办结转接",
                "reject": "拒绝", "withdraw": "撤回申请"}
STEP_DONE = {"approve": "已同意转出", "accept": "已接收", "complete": "已办结",
             "reject": "已拒绝", "withdraw": "已撤回"}
DUE_NAMES = {"ATTACH_DESTINATION_BRANCH": "外出三个月以上，应就近编入流入地党组织",
             "FLOATING_BRANCH": "外出六个月以上未转接，应编入流动党员党支部"}
_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$")
_KEY = re.compile(r"^[0-9A-Za-z_-]{8,128}$")


@dataclass(frozen=True)
class NextStep:
    """What a transfer waits for: the step, in words, and whose turn it is."""

    what: str
    party: str | None
    mine: bool


def next_step(transfer: dict[str, Any], party: str) -> NextStep | None:
    """The step `transfer` waits for (None once final), by the rules of transfer_rules."""
    state = transfer["state"]
    if state == "REQUESTED":
        who = transfer.get("originParty")
        return NextStep("待流出地同意（党籍管理）", who, who == party)
    if state == "APPROVED":
        who = transfer.get("receivingParty")
        return NextStep("待转入方接收", who, who == party)
    if state == "ACCEPTED":
        who = transfer.get("originParty")
        return NextStep("待流出地办结", who, who == party)
    return None


def buttons_for(transfer: dict[str, Any], party: str) -> list[str]:
    """The steps the rules give `party` on `transfer` now (the hub still decides)."""
    state = transfer["state"]
    origin = transfer.get("originParty") == party
    receiving = transfer.get("receivingParty") == party
    requester = transfer.get("requesterParty") == party
    out: list[str] = []
    if state == "REQUESTED":
        out += ["approve", "reject"] if origin else []
        out += ["withdraw"] if requester else []
    elif state == "APPROVED":
        out += ["accept"] if receiving else []
        out += ["reject"] if origin or receiving else []
        out += ["withdraw"] if requester else []
    elif state == "ACCEPTED" and origin:
        out.append("complete")
    return out


def _filter(request: Request) -> dict[str, Any] | None:
    shown = request.query_params.get("show", "open")
    if shown == "open":
        return {"open": True}
    if shown == "final":
        return {"open": False}
    return None


@require_official(PAGE)
async def transfers_page(request: Request, session: Session) -> Response:
    hub = hub_of(request)
    party = console_of(request).party
    after = request.query_params.get("after") or None
    answer = await hub.page_data(session.official, PAGE.slug, TRANSFERS,
                                 {"filter": _filter(request), "first": PAGE_SIZE,
                                  "after": after})
    transfers = answer.data.get("membershipTransfers") or {"nodes": [], "totalCount": 0,
                                                             "pageInfo": {}}
    rows = [{"t": t, "next": next_step(t, party), "buttons": buttons_for(t, party),
             "key": secrets.token_urlsafe(16)} for t in transfers["nodes"]]
    due_answer = await hub.call(session.official, PAGE.slug, DUE, {"first": 10})
    prefill = await _prefill(request, session)
    shown = request.query_params.get("show", "open")
    return render(request, "transfers.html", title=PAGE.title, transfers=transfers, rows=rows,
                  due=due_answer.data, warnings=answer.warnings + due_answer.warnings,
                  prefill=prefill, request_key=secrets.token_urlsafe(16), shown=shown,
                  base=f"/transfers?show={shown}", states=STATE_NAMES, actions=ACTION_NAMES,
                  due_names=DUE_NAMES, pname=party_name, me=party)


async def _prefill(request: Request, session: Session) -> dict[str, str]:
    """The request form, filled from the member chosen (`?member=KEY`, the due list's
    link): the member's membership organisation (where the origin records its request) and
    the branch at the destination, both editable."""
    key = request.query_params.get("member", "")
    out = {"member": key if _KEY.match(key) else "", "name": "", "organization": "", "to": ""}
    if not out["member"]:
        return out
    try:
        answer = await hub_of(request).call(session.official, PAGE.slug, MEMBER, {"key": key})
    except HubFailure:
        return out
    member = answer.data.get("member")
    if member:
        out["name"] = member.get("name") or ""
        out["organization"] = (member.get("originOrganization") or {}).get("code") or ""
        branch = (member.get("destination") or {}).get("organization") or {}
        out["to"] = branch.get("code") or ""
    return out


def _back(request: Request) -> RedirectResponse:
    target = str(request.query_params.get("back") or "/transfers")
    if not target.startswith("/transfers"):
        target = "/transfers"
    return RedirectResponse(target, status_code=303)


@require_official(PAGE)
async def transfer_step(request: Request, session: Session) -> Response:
    form = await checked_form(request, session)
    action = request.path_params["action"]
    number = request.path_params["number"]
    if action not in STEP_MUTATIONS:
        session.flash.append(("error", "没有这一步操作。"))
        return _back(request)
    note = str(form.get("note") or "").strip()[:200] or None
    key = str(form.get("idempotency_key") or "")[:128] or None
    try:
        answer = await hub_of(request).call(
            session.official, PAGE.slug, STEP_MUTATIONS[action],
            {"transfer": number, "note": note, "key": key})
    except HubFailure as failure:
        session.flash.append(("error", f"第 {number} 号转接未能{ACTION_NAMES[action]}："
                                       f"{failure.sentence}"))
        return _back(request)
    receipt = answer.data.get(f"{action}MembershipTransfer") or {}
    state = (receipt.get("transfer") or {}).get("state")
    again = "（此前已提交过，未重复记录）" if receipt.get("replayed") else ""
    session.flash.append(("ok", f"第 {number} 号转接{STEP_DONE[action]}，当前状态："
                                f"{STATE_NAMES.get(state or '', state or '未知')}{again}。"))
    return _back(request)


@require_official(PAGE)
async def transfer_request(request: Request, session: Session) -> Response:
    form = await checked_form(request, session)
    member = str(form.get("member") or "").strip()
    organization = str(form.get("organization") or "").strip()
    to = str(form.get("to") or "").strip()
    reason = str(form.get("reason") or "").strip()
    problems = []
    if not _KEY.match(member):
        problems.append("请从到期名单中选择党员，或填写正确的成员键。")
    if not _CODE.match(organization):
        problems.append("请填写本方党组织代码。")
    if not _CODE.match(to):
        problems.append("请填写转入党组织代码。")
    if len(reason) > 200:
        problems.append("申请理由最多 200 个字。")
    if problems:
        for p in problems:
            session.flash.append(("error", p))
        return RedirectResponse(f"/transfers?member={member if _KEY.match(member) else ''}"
                                "#request", status_code=303)
    try:
        answer = await hub_of(request).call(
            session.official, PAGE.slug, REQUEST,
            {"member": member, "organization": organization, "to": to,
             "reason": reason or None, "key": str(form.get("idempotency_key") or "")[:128]
             or None})
    except HubFailure as failure:
        session.flash.append(("error", f"转接申请未能提交：{failure.sentence}"))
        return RedirectResponse(f"/transfers?member={member}#request", status_code=303)
    receipt = answer.data.get("requestMembershipTransfer") or {}
    number = (receipt.get("transfer") or {}).get("number")
    again = "（此前已提交过，未重复记录）" if receipt.get("replayed") else ""
    session.flash.append(("ok", f"已提交转接申请，编号 {number}，待流出地同意{again}。"))
    return RedirectResponse("/transfers", status_code=303)


ROUTES = [
    Route("/transfers", transfers_page, methods=["GET"]),
    Route("/transfers/request", transfer_request, methods=["POST"]),
    Route("/transfers/{number:int}/{action:str}", transfer_step, methods=["POST"]),
]
