"""GraphQL for workflow 5, 年终发函: draft, sign and acknowledge evaluation letters, list them.

Mutations go through the ledger guard (`@ledger_action`, hub.api.exchange: contract
permission `evaluation_letter`, member scope, organisation, idempotency, audit); this module
says what each step records and who may take it: the sender (the caller drafting, a party
other than the member's origin) drafts and signs, the recipient (the party of the member's
membership organisation) acknowledges. A letter is shown only to its two parties, and only
while the member is in the caller's scope. The hub never signs for a party: `payload` is
what the party signs (hub.exchange.letter_signing), and the envelope it submits is verified
against the trust registry.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import false, or_, select
from strawberry.types import Info

from hub.api.context import Context
from hub.api.exchange import Intent, ledger_action
from hub.api.inputs import check_org_code
from hub.api.types.exchange import ExchangeReceipt
from hub.api.types.node import to_global_id
from hub.api.types.pagination import Connection
from hub.api.types.resolve import member_by_key, member_from_row
from hub.api.types.scalars import JSON
from hub.api.types.workflow_pages import connection_of, fetch_window
from hub.api.types.workflow_parties import organization_party, refusals_audited, trust_of
from hub.errors import ContractError, NotFound, RequestError
from hub.exchange.errors import PayloadInvalid
from hub.exchange.letter_document import LetterParty
from hub.exchange.letter_document import Recommendation as _Recommendation
from hub.exchange.letter_signing import payload_b64, verify_letter_signature
from hub.exchange.letters import (
    ACKNOWLEDGEMENT_ACTION,
    LETTER_ACTION,
    SIGNATURE_ACTION,
    EvaluationLetterAcknowledgement,
    EvaluationLetterSignature,
    Letter,
    LetterRow,
    acknowledgement_effect,
    draft_effect,
    envelope_text,
    letter_by_id,
    signature_effect,
)
from hub.exchange.letters import EvaluationLetter as LetterPayload
from hub.exchange.workflow_errors import WrongParty
from hub.policy.base import ScopeByRow, Transform
from hub.store.models import MemberRow

if TYPE_CHECKING:
    from hub.api.types.member import Member
    from hub.api.types.organization import Organization

__all__ = ["QUERY_TYPES", "MUTATION_TYPES", "EvaluationLetterType", "LetterReceipt",
           "visible_letter", "PDF_PATH"]

_Member = Annotated["Member", strawberry.lazy("hub.api.types.member")]
_Organization = Annotated["Organization", strawberry.lazy("hub.api.types.organization")]

#: where a letter's PDF is served (hub.api.letter_pdf)
PDF_PATH = "/letters/{id}.pdf"


@strawberry.enum(description="奖惩建议。 The destination's recommendation to the origin.")
class LetterRecommendation(enum.Enum):
    COMMEND = strawberry.enum_value("commend", description="建议表彰 commend")
    NONE = strawberry.enum_value("none", description="无 none")
    CRITICISM_EDUCATION = strawberry.enum_value(
        "criticism_education", description="建议批评教育 criticism and education")
    ORGANISATIONAL_HANDLING = strawberry.enum_value(
        "organisational_handling", description="建议组织处理 organisational handling")


@strawberry.enum(description="函件状态。 Where an evaluation letter stands.")
class LetterStateKind(enum.Enum):
    DRAFT = strawberry.enum_value("draft", description="草稿，待流入地签署 draft, to be signed")
    SIGNED = strawberry.enum_value(
        "signed", description="流入地已签署，待流出地确认 signed, awaiting acknowledgement")
    ACKNOWLEDGED = strawberry.enum_value(
        "acknowledged", description="流出地已确认（会签） acknowledged (countersigned)")
    SUPERSEDED = strawberry.enum_value("superseded", description="已被新稿取代 superseded")


@strawberry.type(description="组织生活参加情况（年度）。 Organisation life of the year, as "
                 "the letter states it.")
class LetterAttendanceType:
    activities: int = strawberry.field(description="有记录的活动数。 Activities on record.")
    present: int = strawberry.field(description="现场参加。 Attended on site.")
    online: int = strawberry.field(description="线上参加。 Attended online.")
    by_report: int = strawberry.field(description="以报告方式参加。 Counted by report.")
    excused: int = strawberry.field(description="请假。 Excused.")
    absent: int = strawberry.field(description="缺席。 Absent.")
    participation_rate: float | None = strawberry.field(
        description="参与率 =（现场+线上+报告）/活动数。 (present + online + by report) / "
        "activities; null without activities.")


@strawberry.type(name="LetterSignature", description="函件上已核验的签名。 A verified "
                 "signature on the letter.")
class LetterSignatureType:
    party: str = strawberry.field(description="签名方。 Signing party.")
    kid: str = strawberry.field(description="签名密钥 ID。 Key id.")
    signed_at: datetime = strawberry.field(description="签署时间。 When it was signed.")


@strawberry.type(name="EvaluationLetter", description="年终发函：流入地就一名党员的年度表现致"
                 "流出地的函（流入地签署，流出地确认）。 The annual evaluation letter (年终发函) "
                 "from the destination to the origin about one member, signed by the "
                 "destination and acknowledged (countersigned) by the origin.")
class EvaluationLetterType:
    _letter: strawberry.Private[Letter]

    @strawberry.field(description="全局 ID。 Relay global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("EvaluationLetter", str(self._letter.id)))

    @strawberry.field(description="函号（起草条目的台账编号）。 Letter number: the ledger "
                      "number of its drafting entry.")
    def number(self) -> int:
        return self._letter.id

    @strawberry.field(description="年度。 The year it reports on.")
    def year(self) -> int:
        return self._letter.document.year

    @strawberry.field(description="状态。 State.")
    def state(self) -> LetterStateKind:
        return LetterStateKind(self._letter.state)

    @strawberry.field(description="成员键。 Member key.")
    def member_key(self) -> strawberry.ID:
        return strawberry.ID(self._letter.document.member_key)

    @strawberry.field(description="成员（调用方可见时）。 The member, when the caller may see "
                      "them.")
    async def member(self, info: Info) -> _Member | None:
        return await member_by_key(info, self._letter.document.member_key)

    @strawberry.field(description="函中党员姓名（起草时起草方可见的姓名）。 The member's name "
                      "as the letter states it (as the drafting party could read it).")
    def member_name(self) -> str | None:
        return self._letter.document.member_name

    @strawberry.field(description="来函方（流入地）。 Sending party (destination).")
    def sender_party(self) -> str:
        return self._letter.sender_party

    @strawberry.field(description="来函党组织。 Sending organisation.")
    async def sender_organization(self, info: Info) -> _Organization | None:
        from hub.api.types.organization import organization_by_code

        sender = self._letter.document.sender
        return await organization_by_code(info, sender.organization,
                                          fallback_name=sender.organization_name)

    @strawberry.field(description="收函方（流出地）。 Receiving party (origin).")
    def recipient_party(self) -> str:
        return self._letter.recipient_party

    @strawberry.field(description="收函党组织（组织关系所在）。 Receiving organisation (where "
                      "the membership is).")
    async def recipient_organization(self, info: Info) -> _Organization | None:
        from hub.api.types.organization import organization_by_code

        recipient = self._letter.document.recipient
        return await organization_by_code(info, recipient.organization,
                                          fallback_name=recipient.organization_name)

    @strawberry.field(description="日常表现。 Daily performance.")
    def performance(self) -> str:
        return self._letter.document.performance

    @strawberry.field(description="组织生活参加情况。 Organisation life of the year.")
    def attendance(self) -> LetterAttendanceType:
        a = self._letter.document.attendance
        rate = a.participated / a.activities if a.activities else None
        return LetterAttendanceType(activities=a.activities, present=a.present,
                                    online=a.online, by_report=a.by_report, excused=a.excused,
                                    absent=a.absent, participation_rate=rate)

    @strawberry.field(description="年度积分（积分台账：已确认任务与志愿服务时长）。 Points "
                      "of the year from the points ledger (confirmed tasks and volunteer "
                      "hours); null in letters drafted before the ledger kept points.")
    def points(self) -> int | None:
        return self._letter.document.points

    @strawberry.field(description="奖惩建议。 Recommendation.")
    def recommendation(self) -> LetterRecommendation:
        return LetterRecommendation(self._letter.document.recommendation.value)

    @strawberry.field(description="其他说明。 Free text.")
    def text(self) -> str:
        return self._letter.document.text

    @strawberry.field(description="待签署的内容：RFC 8785 规范化 JSON 的 base64url（签名即对此"
                      "签署）。 What the parties sign: the base64url of the letter's RFC 8785 "
                      "canonical JSON (the JWS payload).")
    def payload(self) -> str:
        return payload_b64(self._letter.payload)

    @strawberry.field(description="签署内容的 SHA-256 摘要。 sha256 of the signed content.")
    def digest(self) -> str:
        return self._letter.digest

    @strawberry.field(description="流入地签名。 The destination's signature.")
    def signature(self) -> LetterSignatureType | None:
        s = self._letter.signature
        return LetterSignatureType(party=s.party, kid=s.kid, signed_at=s.signed_at) if s \
            else None

    @strawberry.field(description="流出地确认（会签）。 The origin's acknowledgement "
                      "(countersignature).")
    def acknowledgement(self) -> LetterSignatureType | None:
        s = self._letter.acknowledgement
        return LetterSignatureType(party=s.party, kid=s.kid, signed_at=s.signed_at) if s \
            else None

    @strawberry.field(description="已签名的 JWS 信封（General JSON）。 The signed JWS envelope "
                      "(General JSON), once signed.")
    def envelope(self) -> JSON | None:
        return JSON(dict(self._letter.envelope)) if self._letter.envelope else None

    @strawberry.field(description="取代本稿的函号。 Number of the letter that superseded "
                      "this draft.")
    def superseded_by(self) -> int | None:
        return self._letter.superseded_by

    @strawberry.field(description="PDF 地址（仅函件双方可取）。 Where its PDF is served (to "
                      "the letter's two parties only).")
    def pdf_url(self) -> str:
        return PDF_PATH.format(id=self._letter.id)

    @strawberry.field(description="起草时间。 Drafted at (UTC).")
    def drafted_at(self) -> str:
        return self._letter.document.drafted_at

    @strawberry.field(description="最近更新。 Last change (UTC).")
    def updated_at(self) -> datetime:
        return self._letter.updated_at


@strawberry.type(description="函件操作回执：台账条目、函件、成员与党组织。 Receipt of a "
                 "letter step: the ledger entry, the letter, the member and the organisation.")
class LetterReceipt(ExchangeReceipt):
    @strawberry.field(description="函件（当前状态）。 The letter as it stands now.")
    async def letter(self, info: Info) -> EvaluationLetterType | None:
        entry = self.entry._entry
        number = entry.id if entry.action == LETTER_ACTION else entry.answers
        if number is None:
            return None
        found = await letter_by_id(info.context.runtime.session_factory, number)
        return EvaluationLetterType(_letter=found) if found is not None else None


@strawberry.input(description="函件筛选。 Filter for evaluation letters.")
class EvaluationLetterFilter:
    year: int | None = strawberry.field(default=None, description="年度。 Year.")
    member_key: strawberry.ID | None = strawberry.field(
        default=None, description="成员键。 One member's letters.")
    state: LetterStateKind | None = strawberry.field(default=None, description="状态。 State.")


async def visible_letter(ctx: Context, number: int) -> Letter:
    """The letter, if the caller is one of its parties and may see its member; NOT_FOUND
    otherwise (whether it exists is not told)."""
    letter = await letter_by_id(ctx.runtime.session_factory, number)
    party = ctx.caller.party
    if letter is None or party not in (letter.sender_party, letter.recipient_party) or \
            await member_from_row(ctx, await ctx.loaders.member_rows.load(
                letter.document.member_key)) is None:
        ctx.access.refused()
        raise NotFound(f"no evaluation letter {number}")
    return letter


def _readable_name(ctx: Context, member: Any, row: MemberRow) -> str | None:
    """The member's name as the drafting party may read it in full (its own source's, or a
    contract's full grant from a party holding it); otherwise the letter carries none."""
    subject = member._subject
    owners: frozenset[str] = getattr(subject, "owners", frozenset())
    if ctx.caller.party in owners:
        return row.name
    for owner in owners:
        if ctx.decisions.transform(subject, "Member", "name", owner) is Transform.FULL:
            return row.name
    return None


@strawberry.type
class LettersQuery:
    @strawberry.field(description="年终发函列表：调用方为来函或收函方、且成员在其范围内的函件。 "
                      "Evaluation letters the caller sent or received, for members in its "
                      "scope; newest first.")
    async def evaluation_letters(
        self, info: Info, filter: EvaluationLetterFilter | None = None,
        first: int | None = None, after: str | None = None, last: int | None = None,
        before: str | None = None,
    ) -> Connection[EvaluationLetterType]:
        ctx: Context = info.context
        party = ctx.caller.party
        stmt = select(LetterRow).join(MemberRow, MemberRow.key == LetterRow.member_key)
        scope = ctx.decisions.member_scope()
        if party is None or isinstance(scope, ScopeByRow):
            stmt = stmt.where(false())  # letters exist only under contracts, between parties
        else:
            stmt = stmt.where(or_(LetterRow.sender_party == party,
                                  LetterRow.recipient_party == party))
            if scope is not None:
                stmt = stmt.where(scope)
        f = filter or EvaluationLetterFilter()
        if f.year is not None:
            stmt = stmt.where(LetterRow.year == f.year)
        if f.member_key is not None:
            stmt = stmt.where(LetterRow.member_key == str(f.member_key))
        if f.state is not None:
            stmt = stmt.where(LetterRow.state == f.state.value)
        window = await fetch_window(ctx, stmt, (LetterRow.id.desc(),), first=first,
                                    after=after, last=last, before=before)
        return connection_of(window, [EvaluationLetterType(_letter=Letter.from_row(r[0]))
                                      for r in window.rows])


@strawberry.type
class LettersMutation:
    @strawberry.mutation(description="起草年终发函（流入地；需 evaluation_letter 记录权限）；年度"
                         "参加情况与积分由枢纽填入。 Draft the annual evaluation letter about a "
                         "member to its origin (the destination; needs the `evaluation_letter` "
                         "record permission). The hub fills in the year's attendance and "
                         "points; sign `letter.payload` next. `supersedes`: the number of the "
                         "draft this one replaces (a signed letter is final).")
    @refusals_audited
    @ledger_action(LETTER_ACTION, receipt=LetterReceipt)
    async def draft_evaluation_letter(
        self, info: Info, member_key: strawberry.ID,
        organization: Annotated[strawberry.ID, strawberry.argument(
            description="来函党组织（调用方的）。 The sending organisation (the caller's).")],
        year: int, recommendation: LetterRecommendation,
        performance: Annotated[str, strawberry.argument(description="日常表现。 Daily "
                                                        "performance.")],
        text: Annotated[str | None, strawberry.argument(description="其他说明。 Free "
                                                        "text.")] = None,
    ) -> Intent:
        ctx: Context = info.context
        trust_of(ctx)
        party = ctx.caller.party
        assert party is not None
        payload = LetterPayload(year=year, recommendation=_Recommendation(
            str(recommendation.value)).value, performance=performance, text=text)
        payload.validate()
        sender_code = check_org_code(str(organization), "organization")
        row = await ctx.loaders.member_rows.load(str(member_key))
        member = await member_from_row(ctx, row)
        if member is None or row is None:
            ctx.access.refused()
            raise NotFound(f"no member with key {member_key!r}")
        recipient_org = await ctx.loaders.organizations.load(row.origin_org_id) \
            if row.origin_org_id else None
        recipient = organization_party(ctx, recipient_org) if recipient_org is not None else \
            None
        if recipient is None:
            raise RequestError("the member's membership organisation (组织关系) is not known "
                               "to the hub, so the letter has no recipient")
        if recipient == party:
            raise WrongParty("the origin receives the letter: the destination drafts it")
        sender_org = await ctx.loaders.organizations.load(sender_code)
        sender = LetterParty(party, sender_code, sender_org.name if sender_org else None)
        to = LetterParty(recipient, row.origin_org_id,
                         recipient_org.name if recipient_org is not None else None)
        # a correction names the draft it replaces with the guard's `supersedes` argument
        effect = draft_effect(member_name=_readable_name(ctx, member, row), sender=sender,
                              recipient=to)
        return Intent(payload, organization=sender_code, member_key=str(member_key),
                      also_organizations=(row.origin_org_id,) if row.origin_org_id else (),
                      effects=(effect,))

    @strawberry.mutation(description="流入地签署函件：提交对 payload 的 JWS（General JSON）签名。 "
                         "Sign a drafted letter: submit the sender's JWS (General JSON) over "
                         "`payload`; verified against the trust registry.")
    @refusals_audited
    @ledger_action(SIGNATURE_ACTION, receipt=LetterReceipt)
    async def sign_evaluation_letter(
        self, info: Info,
        letter: Annotated[int, strawberry.argument(description="函号。 Letter number.")],
        envelope: Annotated[JSON, strawberry.argument(
            description="JWS General JSON 签名信封。 The signed JWS envelope.")],
    ) -> Intent:
        ctx: Context = info.context
        trust = trust_of(ctx)
        found = await visible_letter(ctx, letter)
        if ctx.caller.party != found.sender_party:
            raise WrongParty("only the sending party (the destination) signs its letter")
        text = _envelope(envelope)
        signature = verify_letter_signature(envelope, found.payload, trust.registry,
                                            found.sender_party)
        return Intent(EvaluationLetterSignature(envelope=text),
                      organization=found.document.sender.organization or "",
                      member_key=found.document.member_key, answers=found.id,
                      effects=(signature_effect(found.id, signature),))

    @strawberry.mutation(description="流出地确认（会签）函件：提交含其签名的 JWS 信封。 "
                         "Acknowledge (countersign) a signed letter as its recipient, the "
                         "origin: submit the JWS envelope carrying its signature.")
    @refusals_audited
    @ledger_action(ACKNOWLEDGEMENT_ACTION, receipt=LetterReceipt)
    async def acknowledge_evaluation_letter(
        self, info: Info,
        letter: Annotated[int, strawberry.argument(description="函号。 Letter number.")],
        envelope: Annotated[JSON, strawberry.argument(
            description="含流出地签名的 JWS 信封。 The JWS envelope with the origin's "
            "signature.")],
    ) -> Intent:
        ctx: Context = info.context
        trust = trust_of(ctx)
        found = await visible_letter(ctx, letter)
        if ctx.caller.party != found.recipient_party:
            raise WrongParty("only the receiving party (the origin) acknowledges a letter")
        text = _envelope(envelope)
        signature = verify_letter_signature(envelope, found.payload, trust.registry,
                                            found.recipient_party)
        org = found.document.recipient.organization
        if not org:
            raise RequestError("the letter names no receiving organisation")
        return Intent(EvaluationLetterAcknowledgement(envelope=text), organization=org,
                      member_key=found.document.member_key, answers=found.id,
                      effects=(acknowledgement_effect(found.id, signature),))


def _envelope(value: Any) -> str:
    """The submitted envelope as the payload stores it; BAD_USER_INPUT when it is not one."""
    if not isinstance(value, dict):
        raise PayloadInvalid("envelope", 'must be a JWS General JSON object ({"payload": '
                             '..., "signatures": [...]})')
    try:
        text = envelope_text(value)
    except ContractError as exc:
        raise PayloadInvalid("envelope", str(exc)) from None
    EvaluationLetterSignature(envelope=text).validate()
    return text


QUERY_TYPES = (LettersQuery,)
MUTATION_TYPES = (LettersMutation,)
