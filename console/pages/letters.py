"""年终发函: the destination drafts a member's evaluation letter (the hub fills in the year's
attendance and points from its ledger), signs it, and both parties download its PDF; the
origin acknowledges (countersigns) the letters it received.

Signing happens here, on the console's server, with the party's key the console already holds
(ConsoleHub.credentials), through hub core's `hub.letter_signing`: the same code
`yanxing letter sign` runs offline. The key never reaches a browser. The official signs what
the page showed: the form carries the letter's digest, and the console refuses to sign when
the hub's payload no longer matches it (changed since the page was drawn).

Roles: only a destination sees the draft form and sign buttons, only an origin the
acknowledge button; the hub decides in any case (WRONG_PARTY), and its sentence is shown.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from console.chinatime import china_time, china_today
from console.downloads import fetch_document
from console.hub import ConsoleHub, HubFailure
from console.officials import Official
from console.pages.tasks import own_organizations
from console.sessions import Session
from console.web import (
    SECURITY_HEADERS,
    Page,
    checked_form,
    console_of,
    hub_of,
    render,
    require_official,
)
from hub.canonical_json import b64url_decode
from hub.errors import ContractError
from hub.letter_signing import countersign_letter, letter_payload, sign_letter

__all__ = ["PAGE", "ROUTES"]

PAGE = Page("letters", "年终发函", "/letters")

MAX_PERFORMANCE = MAX_TEXT = 2000
RECOMMENDATIONS = ("COMMEND", "NONE", "CRITICISM_EDUCATION", "ORGANISATIONAL_HANDLING")
LETTERS_SHOWN = 100
#: pages of 100 members read to offer in the draft form
MEMBER_PAGES = 5

LETTERS = """
query ConsoleLetters($year: Int, $first: Int) {
  evaluationLetters(filter: {year: $year}, first: $first) {
    totalCount
    nodes {
      number year state memberKey memberName member { key name }
      senderParty senderOrganization { code name }
      recipientParty recipientOrganization { code name }
      performance recommendation text points digest supersededBy draftedAt updatedAt
      attendance { activities present online byReport excused absent participationRate }
      signature { party kid signedAt } acknowledgement { party kid signedAt }
    }
  }
}
"""

#: one letter with what is signed (the payload) and, once signed, the envelope
LETTER = """
query ConsoleLetter($member: ID!, $year: Int!) {
  evaluationLetters(filter: {memberKey: $member, year: $year}, first: 20) {
    nodes { number state senderParty recipientParty payload digest envelope
            signature { party } acknowledgement { party } }
  }
}
"""

MEMBER_ORG = """
query ConsoleLetterMemberOrg($key: ID!) {
  member(key: $key) { key destination { organization { code } } }
}
"""

MEMBERS = """
query ConsoleLetterMembers($after: String) {
  members(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { key name destination { organization { code name } } }
  }
}
"""

DRAFT = """
mutation ConsoleDraftLetter($member: ID!, $organization: ID!, $year: Int!,
                            $recommendation: LetterRecommendation!, $performance: String!,
                            $text: String, $key: String) {
  draftEvaluationLetter(memberKey: $member, organization: $organization, year: $year,
                        recommendation: $recommendation, performance: $performance,
                        text: $text, idempotencyKey: $key) {
    replayed letter { number state }
  }
}
"""

SIGN = """
mutation ConsoleSignLetter($letter: Int!, $envelope: JSON!, $key: String) {
  signEvaluationLetter(letter: $letter, envelope: $envelope, idempotencyKey: $key) {
    replayed letter { number state }
  }
}
"""

ACKNOWLEDGE = """
mutation ConsoleAcknowledgeLetter($letter: Int!, $envelope: JSON!, $key: String) {
  acknowledgeEvaluationLetter(letter: $letter, envelope: $envelope, idempotencyKey: $key) {
    replayed letter { number state }
  }
}
"""

_MEMBER = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_ORG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _year(raw: str) -> int | None:
    this_year = china_today().year
    return int(raw) if raw.isdigit() and this_year - 5 <= int(raw) <= this_year else None


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _members_to_write(hub: ConsoleHub, official: Official, org_codes: set[str],
                            written: set[str]) -> list[dict[str, Any]]:
    """Members attending one of this party's organisations with no live letter this year."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(MEMBER_PAGES):
        answer = await hub.call(official, PAGE.slug, MEMBERS, {"after": after})
        conn = answer.data.get("members") or {}
        for node in conn.get("nodes") or ():
            org = ((node.get("destination") or {}).get("organization") or {})
            if org.get("code") in org_codes and node.get("key") not in written:
                found.append({**node, "organization": org})
        info = conn.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            break
        after = info.get("endCursor")
    return sorted(found, key=lambda m: (str(m["organization"].get("code")),
                                        str(m.get("name") or "")))


@require_official(PAGE)
async def letters_page(request: Request, session: Session) -> Response:
    console = console_of(request)
    hub = hub_of(request)
    year = _year(request.query_params.get("year", "")) or china_today().year
    answer = await hub.page_data(session.official, PAGE.slug, LETTERS,
                                 {"year": year, "first": LETTERS_SHOWN})
    conn = answer.data.get("evaluationLetters") or {}
    letters = conn.get("nodes") or []
    party = console.party
    live = [x for x in letters if x.get("supersededBy") is None]
    drafts = [x for x in live if x["senderParty"] == party and x["state"] == "DRAFT"]
    sent = [x for x in live if x["senderParty"] == party and x["state"] != "DRAFT"]
    received = [x for x in live if x["recipientParty"] == party]
    sender = console.party_roles is None or "destination" in console.party_roles
    orgs: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    if sender:
        orgs = await own_organizations(hub, session.official, party, PAGE.slug)
        members = await _members_to_write(hub, session.official,
                                          {str(o["code"]) for o in orgs},
                                          {str(x["memberKey"]) for x in live
                                           if x["senderParty"] == party})
    keys = {x["number"]: secrets.token_urlsafe(18) for x in letters}
    return render(request, "letters.html", title=PAGE.title, year=year,
                  years=list(range(china_today().year, china_today().year - 3, -1)),
                  total=conn.get("totalCount", 0), drafts=drafts, sent=sent,
                  received=received, sender=sender, orgs=orgs, members=members,
                  chosen=request.query_params.get("member", ""),
                  recommendations=RECOMMENDATIONS, warnings=answer.warnings,
                  form_key=secrets.token_urlsafe(18), keys=keys, cst=china_time)


def _back(year: int | None) -> RedirectResponse:
    return RedirectResponse(f"/letters?year={year}" if year else "/letters", status_code=303)


@require_official(PAGE)
async def draft(request: Request, session: Session) -> Response:
    form = await checked_form(request, session)
    member, org = _text(form, "member"), _text(form, "organization")
    year = _year(_text(form, "year"))
    recommendation = _text(form, "recommendation")
    performance, text, key = _text(form, "performance"), _text(form, "text"), \
        _text(form, "idempotency_key")
    problems = []
    if not _MEMBER.match(member):
        problems.append("请选择党员。")
    if org and not _ORG.match(org):
        problems.append("请选择来函党组织。")
    if year is None:
        problems.append("请选择年度。")
    if recommendation not in RECOMMENDATIONS:
        problems.append("请选择奖惩建议。")
    if not performance or len(performance) > MAX_PERFORMANCE:
        problems.append(f"请填写日常表现（最多 {MAX_PERFORMANCE} 字）。")
    if len(text) > MAX_TEXT:
        problems.append(f"其他说明最多 {MAX_TEXT} 字。")
    if not _KEY.match(key):
        problems.append("表单已过期，请刷新页面后重新填写。")
    if problems:
        session.flash.extend(("error", p) for p in problems)
        return _back(year)
    hub = hub_of(request)
    try:
        if not org:  # the branch the member attends, as the hub knows it
            found = await hub.call(session.official, PAGE.slug, MEMBER_ORG, {"key": member})
            org = str((((found.data.get("member") or {}).get("destination") or {})
                       .get("organization") or {}).get("code") or "")
            if not org:
                raise HubFailure("BAD_USER_INPUT", "未能确定该党员所在的支部，请选择来函党组织。")
        answer = await hub.call(
            session.official, PAGE.slug, DRAFT,
            {"member": member, "organization": org, "year": year,
             "recommendation": recommendation, "performance": performance,
             "text": text or None, "key": key})
    except HubFailure as failure:
        session.flash.append(("error", f"函件未能起草：{failure.sentence}"))
        return _back(year)
    letter = answer.data["draftEvaluationLetter"]["letter"] or {}
    session.flash.append(("ok", f"已起草第 {letter.get('number')} 号函：年度组织生活参加情况与"
                                "积分已由枢纽从台账填入，请核对后签署。"))
    return _back(year)


async def _stored_letter(request: Request, session: Session, form: Any
                         ) -> tuple[int, int, str, dict[str, Any]]:
    """(number, year, idempotency key, the letter as the hub holds it now) for a sign or
    acknowledge form; HubFailure with a sentence when the form or the letter is not right."""
    number, member = _text(form, "letter"), _text(form, "member")
    year, digest, key = _year(_text(form, "year")), _text(form, "digest"), \
        _text(form, "idempotency_key")
    if not number.isdigit() or not _MEMBER.match(member) or year is None \
            or not _DIGEST.match(digest) or not _KEY.match(key):
        raise HubFailure("BAD_REQUEST", "表单不完整，请刷新页面后重试。")
    answer = await hub_of(request).call(session.official, PAGE.slug, LETTER,
                                        {"member": member, "year": year})
    nodes = (answer.data.get("evaluationLetters") or {}).get("nodes") or []
    found = next((x for x in nodes if x.get("number") == int(number)), None)
    if found is None:
        raise HubFailure("NOT_FOUND", f"未找到第 {number} 号函，可能已被取代或不在本方范围内。")
    shown = "sha256:" + hashlib.sha256(b64url_decode(str(found["payload"]))).hexdigest()
    if shown != digest or found.get("digest") != digest:
        raise HubFailure("STATE_CONFLICT", f"第 {number} 号函的内容与页面上显示的不一致"
                         "（页面打开后已有变化），未签署，请刷新后重新核对。")
    return int(number), year, key, found


def _done_by(letter: dict[str, Any], step: str, party: str) -> bool:
    """Whether this party already took `step` (signature, acknowledgement) on the letter: a
    second click then says so instead of signing again (a new signature's time differs, so
    the hub would see other input under the same idempotency key)."""
    return ((letter.get(step) or {}).get("party")) == party


@require_official(PAGE)
async def sign(request: Request, session: Session) -> Response:
    """Sign the letter's payload with the party's key (hub.letter_signing, as the CLI does)
    and submit the envelope."""
    form = await checked_form(request, session)
    year = _year(_text(form, "year"))
    hub = hub_of(request)
    try:
        number, year_, key, found = await _stored_letter(request, session, form)
        if _done_by(found, "signature", console_of(request).party):
            session.flash.append(("ok", f"第 {number} 号函已由本方签署（重复提交，未重复签署）。"))
            return _back(year_)
        try:
            envelope = sign_letter(letter_payload(str(found["payload"])),
                                   hub.credentials.key, hub.credentials.kid)
        except ContractError as exc:
            raise HubFailure("SIGNATURE_INVALID",
                             "枢纽返回的函件内容格式有误，未签署，请联系系统管理员。") from exc
        await hub.call(session.official, PAGE.slug, SIGN,
                       {"letter": number, "envelope": envelope, "key": key})
    except HubFailure as failure:
        session.flash.append(("error", f"函件未能签署：{failure.sentence}"))
        return _back(year)
    session.flash.append(("ok", f"第 {number} 号函已用本方密钥签署，已送达流出地待确认。"))
    return _back(year_)


@require_official(PAGE)
async def acknowledge(request: Request, session: Session) -> Response:
    """Countersign the sender's envelope with the party's key and submit it."""
    form = await checked_form(request, session)
    year = _year(_text(form, "year"))
    hub = hub_of(request)
    try:
        number, year_, key, found = await _stored_letter(request, session, form)
        if _done_by(found, "acknowledgement", console_of(request).party):
            session.flash.append(("ok", f"第 {number} 号函已由本方确认（重复提交，未重复确认）。"))
            return _back(year_)
        envelope = found.get("envelope")
        if not isinstance(envelope, dict) or envelope.get("payload") != found["payload"]:
            raise HubFailure("STATE_CONFLICT", f"第 {number} 号函尚未经流入地签署，不能确认。")
        try:
            both = countersign_letter(envelope, hub.credentials.key, hub.credentials.kid)
        except ContractError as exc:
            raise HubFailure("SIGNATURE_INVALID",
                             "函件的签名信封格式有误，未确认，请联系系统管理员。") from exc
        await hub.call(session.official, PAGE.slug, ACKNOWLEDGE,
                       {"letter": number, "envelope": both, "key": key})
    except HubFailure as failure:
        session.flash.append(("error", f"函件未能确认：{failure.sentence}"))
        return _back(year)
    session.flash.append(("ok", f"已确认（会签）第 {number} 号函。"))
    return _back(year_)


@require_official(PAGE)
async def pdf(request: Request, session: Session) -> Response:
    """The letter's PDF from the hub, fetched with the official's token (the hub serves it
    to the letter's two parties only, and audits who read it)."""
    number = int(request.path_params["number"])
    document = await fetch_document(hub_of(request), session.official, PAGE.slug,
                                    f"/letters/{number}.pdf")
    return Response(document.content, media_type="application/pdf", headers={
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="letter-{number}.pdf"'})


ROUTES = [
    Route("/letters", letters_page, methods=["GET"]),
    Route("/letters/draft", draft, methods=["POST"]),
    Route("/letters/sign", sign, methods=["POST"]),
    Route("/letters/acknowledge", acknowledge, methods=["POST"]),
    Route("/letters/{number:int}.pdf", pdf, methods=["GET"]),
]
