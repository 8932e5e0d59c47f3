"""报到: the branch's QR check-in code (报到码) to print, and check-ins as they arrive.

- Issuing: `issueCheckInCode` at one of the party's own organisations (console
  .own_organizations), with the idempotency key the form was rendered with. The code is kept
  in the console's memory per organisation until it expires, so the page can show and print
  it; the QR image is fetched from the hub's `/checkin-code/{org}` with the official's fresh
  token and passed on (`/checkin/qr/{org}/svg|png`): a browser never holds a party token, and
  the code never travels in a URL the browser keeps.
- Check-ins: the latest ones from `exchangeEntries` (action `checkin`) when the page loads,
  then each new one as it is recorded: the page's EventSource (static/checkin.js) reads
  `/checkin/events`, which the console feeds from the hub's `exchangeEvents` subscription
  (console.live), one rendered table row per event. A stream lives `STREAM_SECONDS` and ends;
  the browser reconnects with the last entry number it saw (`Last-Event-ID`) and the console
  first sends the check-ins recorded since, so nothing is lost across a reconnect.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from console import sse
from console.chinatime import CST, china_time
from console.hub import HubFailure
from console.live import ledger_events, with_heartbeat
from console.messages import explain_error
from console.own_organizations import ORG_CODE, OwnOrganization, own_organizations
from console.sessions import COOKIE, Session
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

__all__ = ["PAGE", "ROUTES", "IssuedCode", "VALIDITY"]

PAGE = Page("checkin", "报到", "/checkin")
#: check-ins listed when the page loads (and sent again after a reconnect, when newer)
LATEST = 20
#: a stream ends after this long, before its token does (console.live.TOKEN_SECONDS); the
#: browser reconnects (a fresh token, the session checked)
STREAM_SECONDS = 300.0
#: a comment this often keeps proxies from closing a quiet stream, and checks the session
HEARTBEAT_SECONDS = 15.0
#: how long a code may be valid, as offered (the hub allows 60 s to 90 days)
VALIDITY = {86400: "1 天", 604800: "7 天", 2592000: "30 天", 7776000: "90 天"}

_ROW = """
fragment ConsoleCheckInRow on ExchangeEntry {
  number memberKey party official recordedAt answers payload
  member { key name }
  organization { code name }
}
"""

CHECKINS = """
query ConsoleCheckIns($filter: ExchangeEntryFilter, $last: Int) {
  exchangeEntries(filter: $filter, last: $last) {
    totalCount
    nodes { ...ConsoleCheckInRow }
  }
}
""" + _ROW

EVENTS = """
subscription ConsoleCheckInEvents($organization: ID) {
  exchangeEvents(kinds: ["checkin"], organization: $organization) { ...ConsoleCheckInRow }
}
""" + _ROW

ISSUE = """
mutation ConsoleIssueCheckInCode($organization: ID!, $validFor: Int!, $key: String) {
  issueCheckInCode(organization: $organization, validFor: $validFor, idempotencyKey: $key) {
    replayed code expiresAt
    entry { number official }
    organization { code name }
  }
}
"""


@dataclass(frozen=True)
class IssuedCode:
    """A check-in code this console issued, kept while it is valid."""

    organization: str
    organization_name: str
    code: str
    expires_at: datetime
    number: int

    @property
    def expires_text(self) -> str:
        return self.expires_at.astimezone(CST).strftime("%Y年%m月%d日 %H:%M")


def _issued(request: Request) -> dict[str, IssuedCode]:
    """The codes this console issued, per organisation (expired ones dropped)."""
    store: dict[str, IssuedCode] | None = getattr(request.app.state, "checkin_codes", None)
    if store is None:
        store = {}
        request.app.state.checkin_codes = store
    now = datetime.now(UTC)
    for org in [o for o, c in store.items() if c.expires_at <= now]:
        del store[org]
    return store


def checkin_row(entry: dict[str, Any], party: str) -> dict[str, Any]:
    """What one row shows of a `checkin` entry."""
    member = entry.get("member") or {}
    org = entry.get("organization") or {}
    payload = entry.get("payload") or {}
    key = str(entry.get("memberKey") or member.get("key") or "")
    return {
        "number": int(entry.get("number") or 0),
        "time": china_time(entry.get("recordedAt"), "%Y-%m-%d %H:%M:%S"),
        "name": member.get("name"),
        "member_key": key,
        "short_key": key[:8],
        "organization": org.get("name") or org.get("code") or "",
        "by_code": entry.get("answers") is not None,
        "recorder": "本方" if entry.get("party") == party else str(entry.get("party") or ""),
        "official": entry.get("official") or "",
        "note": payload.get("note") if isinstance(payload, dict) else None,
    }


def _row_html(row: dict[str, Any]) -> str:
    return environment().get_template("checkin_row.html").render(row=row)


def _chosen(request: Request, orgs: list[OwnOrganization]) -> str:
    """The organisation in the query string when it is one of the party's, else "" (all)."""
    wanted = request.query_params.get("org", "")
    return wanted if any(o.code == wanted for o in orgs) else ""


async def _latest(request: Request, session: Session, org: str
                  ) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The latest check-ins (oldest first) and the partial answer's warnings."""
    answer = await hub_of(request).page_data(
        session.official, PAGE.slug, CHECKINS,
        {"filter": {"actions": ["checkin"], **({"organization": org} if org else {})},
         "last": LATEST})
    return (answer.data.get("exchangeEntries") or {"totalCount": 0, "nodes": []},
            answer.warnings)


@require_official(PAGE)
async def checkin_page(request: Request, session: Session) -> Response:
    console = console_of(request)
    orgs = await own_organizations(console, session.official, PAGE.slug)
    org = _chosen(request, orgs)
    latest, warnings = await _latest(request, session, org)
    rows = [checkin_row(e, console.party) for e in reversed(latest.get("nodes") or [])]
    issued = _issued(request)
    stream = "/checkin/events" + (f"?org={org}" if org else "")
    return render(request, "checkin.html", title=PAGE.title, orgs=orgs, org=org,
                  org_name=next((o.name for o in orgs if o.code == org), ""),
                  code=issued.get(org) if org else None,
                  others=[c for o, c in sorted(issued.items()) if o != org],
                  rows=rows, total=latest.get("totalCount") or 0, stream=stream,
                  validity=VALIDITY, key=secrets.token_urlsafe(16), warnings=warnings)


@require_official(PAGE)
async def issue_code(request: Request, session: Session) -> Response:
    form = await checked_form(request, session)
    console = console_of(request)
    org = str(form.get("organization") or "")
    key = str(form.get("idempotency_key") or "")
    try:
        valid_for = int(str(form.get("valid_for") or ""))
    except ValueError:
        valid_for = 0
    orgs = await own_organizations(console, session.official, PAGE.slug)
    problem = None
    if not ORG_CODE.match(org) or not any(o.code == org for o in orgs):
        problem = "请选择本方的党组织。"
    elif valid_for not in VALIDITY:
        problem = "请选择报到码的有效期。"
    elif not 8 <= len(key) <= 64:
        problem = "表单已过期，请刷新页面后重新签发。"
    if problem is None:
        try:
            answer = await hub_of(request).call(session.official, PAGE.slug, ISSUE,
                                                {"organization": org, "validFor": valid_for,
                                                 "key": key})
        except HubFailure as failure:
            problem = failure.sentence
    if problem is not None:
        session.flash.append(("error", problem))
        back = f"/checkin?org={org}" if any(o.code == org for o in orgs) else "/checkin"
        return RedirectResponse(back, status_code=303, headers=dict(SECURITY_HEADERS))
    receipt = answer.data["issueCheckInCode"]
    name = (receipt.get("organization") or {}).get("name") or org
    _issued(request)[org] = IssuedCode(
        org, name, receipt["code"], datetime.fromisoformat(receipt["expiresAt"]),
        int(receipt["entry"]["number"]))
    session.flash.append(("ok", f"已签发{name}的报到码（台账第 {receipt['entry']['number']} 号），"
                                f"有效至 {_issued(request)[org].expires_text}。"))
    return RedirectResponse(f"/checkin?org={org}", status_code=303,
                            headers=dict(SECURITY_HEADERS))


_QR_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


@require_official(PAGE)
async def qr_image(request: Request, session: Session) -> Response:
    """The QR code of the code this console holds for `org`, fetched from the hub with the
    official's token (the hub serves it only to the issuing party)."""
    org, fmt = request.path_params["org"], request.path_params["fmt"]
    issued = _issued(request).get(org)
    if fmt not in _QR_TYPES or issued is None:
        return HTMLResponse("没有该党组织有效的报到码，请先签发。", status_code=404,
                            headers=dict(SECURITY_HEADERS))
    hub = hub_of(request)
    credentials = dataclasses.replace(hub.credentials, user=session.official.user,
                                      purpose=hub.config.purpose_for(PAGE.slug))
    try:
        response = await hub.http.get(
            f"{hub.config.hub_url}/checkin-code/{org}",
            params={"code": issued.code, "format": fmt},
            headers={"Authorization": f"Bearer {credentials.token()}",
                     "X-Request-Id": f"console-{PAGE.slug}-{secrets.token_hex(6)}"})
    except Exception:
        return HTMLResponse("暂时无法连接枢纽，请稍后重试。", status_code=502,
                            headers=dict(SECURITY_HEADERS))
    if response.status_code != 200 or \
            response.headers.get("content-type", "").split(";")[0] != _QR_TYPES[fmt]:
        try:
            first = (response.json().get("errors") or [{}])[0]
        except ValueError:
            first = {}
        return HTMLResponse(explain_error(first), status_code=502 if response.status_code
                            >= 500 else response.status_code, headers=dict(SECURITY_HEADERS))
    headers = {**SECURITY_HEADERS}
    if fmt == "png":
        headers["Content-Disposition"] = f'attachment; filename="checkin-{org}.png"'
    return Response(response.content, media_type=_QR_TYPES[fmt], headers=headers)


@require_official(PAGE)
async def events(request: Request, session: Session) -> Response:
    """The check-ins as server-sent events: `checkin` events carrying one table row each,
    `trouble` when the hub refuses or cannot be reached (the page says so)."""
    console = console_of(request)
    org = request.query_params.get("org", "")
    if org and not ORG_CODE.match(org):
        org = ""
    try:
        since = int(request.headers.get("last-event-id", ""))
    except ValueError:
        since = None
    cookie = request.cookies.get(COOKIE)
    loop_start = datetime.now(UTC)

    async def stream() -> AsyncIterator[str]:
        yield sse.retry(3000)
        sent: set[int] = set()
        subscription = ledger_events(console.hub, session.official, PAGE.slug, EVENTS,
                                     {"organization": org or None})
        try:
            async for entry in with_heartbeat(subscription, HEARTBEAT_SECONDS):
                if entry == {}:
                    # subscribed: after a reconnect, first the ones recorded while away
                    for row in await _missed(since) if since is not None else ():
                        sent.add(row["number"])
                        yield sse.event(_row_html(row), name="checkin",
                                        event_id=str(row["number"]))
                    continue
                if entry is None:
                    if console.sessions.find(cookie) is None or \
                            datetime.now(UTC) - loop_start > timedelta(seconds=STREAM_SECONDS):
                        return
                    yield sse.comment("keep-alive")
                    continue
                row = checkin_row(entry, console.party)
                if row["number"] in sent:
                    continue
                sent.add(row["number"])
                yield sse.event(_row_html(row), name="checkin", event_id=str(row["number"]))
        except HubFailure as failure:
            yield sse.event(failure.sentence, name="trouble")

    async def _missed(after: int) -> list[dict[str, Any]]:
        latest, _ = await _latest(request, session, org)
        return [checkin_row(e, console.party) for e in latest.get("nodes") or []
                if int(e.get("number") or 0) > after]

    return sse.stream_response(stream())


ROUTES = [
    Route("/checkin", checkin_page, methods=["GET"]),
    Route("/checkin/code", issue_code, methods=["POST"]),
    Route("/checkin/qr/{org}/{fmt}", qr_image, methods=["GET"]),
    Route("/checkin/events", events, methods=["GET"]),
]
