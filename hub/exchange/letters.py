"""年终发函, the annual evaluation letter (workflow 5): drafted, signed, acknowledged.

Three ledger actions, all under the contract record permission `evaluation_letter`:

| action | by | answers | state after |
|---|---|---|---|
| `evaluation_letter` | the destination (sender) | - | draft (`supersedes` an earlier draft) |
| `evaluation_letter_signature` | the sender | the letter | signed |
| `evaluation_letter_ack` | the origin (recipient) | the letter | acknowledged |

The letter's number is the ledger number of its `evaluation_letter` entry; the document the
parties sign (hub.exchange.letter_document) is built in that entry's transaction from the
caller's input (year, recommendation, performance, text) and the year's figures
(hub.exchange.letter_statement), and kept in `exchange_letters`, the workflow's current state
(a projection of the ledger: the entries stay the record). An acknowledged letter is what
fulfils the contract obligation 年终发函 (`evaluation_letter`, yearly).

Signatures (hub.exchange.letter_signing) are verified before the entry is written, and the
state is checked again inside the entry's transaction, so two concurrent signatures or
acknowledgements give one entry and one STATE_CONFLICT. One live letter per member, year and
sender: a second draft must name the draft it replaces (`supersedes`), and once signed a
letter is final.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from hub.canonical_json import canonical, strict_loads
from hub.clock import as_utc, format_time
from hub.contracts.lifecycle import SignatureInfo
from hub.errors import ContractError
from hub.exchange.errors import PayloadInvalid
from hub.exchange.ledger import Effect, Entry
from hub.exchange.letter_document import (
    MAX_PERFORMANCE,
    MAX_TEXT,
    LetterDocument,
    LetterParty,
    Recommendation,
)
from hub.exchange.letter_signing import payload_digest
from hub.exchange.letter_statement import attendance_of_year, points_of_year
from hub.exchange.payloads import Payload, action, check_choice, check_int, check_text
from hub.exchange.schedule import register_fulfilling_action, register_period_reader
from hub.exchange.workflow_errors import StateConflict
from hub.letter_signing import letter_payload
from hub.store.base import Base

__all__ = [
    "LETTER_ACTION", "SIGNATURE_ACTION", "ACKNOWLEDGEMENT_ACTION", "LetterState",
    "EvaluationLetter", "EvaluationLetterSignature", "EvaluationLetterAcknowledgement",
    "LetterRow", "Letter", "draft_effect", "signature_effect", "acknowledgement_effect",
    "letter_by_id", "envelope_text", "MAX_ENVELOPE", "FIRST_YEAR",
]

LETTER_ACTION = "evaluation_letter"
SIGNATURE_ACTION = "evaluation_letter_signature"
#: (the ledger's action column holds 32 characters)
ACKNOWLEDGEMENT_ACTION = "evaluation_letter_ack"
# 年终发函 is fulfilled when the destination signs a letter (sends it), not when it drafts one
register_fulfilling_action(LETTER_ACTION, SIGNATURE_ACTION)


def _letter_year(payload: Mapping[str, Any]) -> str | None:
    """The year a signature entry's letter is about (its obligation period, e.g. "2025")."""
    try:
        envelope = json.loads(str(payload.get("envelope") or ""))
        year = letter_payload(str(envelope["payload"])).get("year")
    except (ValueError, KeyError, TypeError, ContractError):
        return None
    return str(year) if isinstance(year, int) else None


register_period_reader(SIGNATURE_ACTION, _letter_year)
#: largest signature envelope accepted, in characters of JSON (two signatures need ~1 kB plus
#: the payload, itself bounded by the text limits)
MAX_ENVELOPE = 64_000
#: earliest year a letter may be about (the agreements the articles describe start in 2020)
FIRST_YEAR = 2000


class LetterState:
    DRAFT = "draft"
    SIGNED = "signed"
    ACKNOWLEDGED = "acknowledged"
    SUPERSEDED = "superseded"


@action(LETTER_ACTION, permission="evaluation_letter")
@dataclass(frozen=True, slots=True)
class EvaluationLetter(Payload):
    """What the sender chooses; the hub adds the year's figures in the entry's transaction."""

    year: int
    recommendation: str
    performance: str
    text: str | None = None

    def validate(self) -> None:
        check_int("year", self.year, minimum=FIRST_YEAR, maximum=9999, required=True)
        check_choice("recommendation", self.recommendation,
                     tuple(r.value for r in Recommendation))
        check_text("performance", self.performance, max_length=MAX_PERFORMANCE, required=True)
        check_text("text", self.text, max_length=MAX_TEXT)


def _check_envelope(value: str) -> None:
    if len(value) > MAX_ENVELOPE:
        raise PayloadInvalid("envelope", f"is over {MAX_ENVELOPE} characters")
    try:
        parsed = strict_loads(value)
    except ContractError as exc:
        raise PayloadInvalid("envelope", str(exc)) from None
    if not isinstance(parsed, dict):
        raise PayloadInvalid("envelope", "must be a JWS General JSON object")


@action(SIGNATURE_ACTION, permission="evaluation_letter")
@dataclass(frozen=True, slots=True)
class EvaluationLetterSignature(Payload):
    """The sender's signed envelope (JWS General JSON, as canonical JSON text)."""

    envelope: str

    def validate(self) -> None:
        _check_envelope(self.envelope)


@action(ACKNOWLEDGEMENT_ACTION, permission="evaluation_letter")
@dataclass(frozen=True, slots=True)
class EvaluationLetterAcknowledgement(Payload):
    """The recipient's countersigned envelope (it may carry the sender's signature too)."""

    envelope: str

    def validate(self) -> None:
        _check_envelope(self.envelope)


class LetterRow(Base):
    """The letter's current state; the ledger entries are the record."""

    __tablename__ = "exchange_letters"
    __table_args__ = (UniqueConstraint("live_key", name="uq_exchange_letters_live"),)

    #: the ledger number of the letter's `evaluation_letter` entry
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    member_key: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    sender_party: Mapped[str] = mapped_column(String(64), index=True)
    sender_org: Mapped[str] = mapped_column(String(64))
    recipient_party: Mapped[str] = mapped_column(String(64), index=True)
    recipient_org: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    recommendation: Mapped[str] = mapped_column(String(32))
    #: "member:year:sender" while the letter is live; NULL once superseded (one live letter)
    live_key: Mapped[str | None] = mapped_column(String(160))
    #: the signed payload as RFC 8785 canonical JSON, and its sha256
    document: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(80))
    superseded_by: Mapped[int | None] = mapped_column(Integer)
    signature_entry: Mapped[int | None] = mapped_column(Integer)
    signature_kid: Mapped[str | None] = mapped_column(String(128))
    signed_at: Mapped[datetime | None]
    acknowledgement_entry: Mapped[int | None] = mapped_column(Integer)
    acknowledgement_kid: Mapped[str | None] = mapped_column(String(128))
    acknowledged_at: Mapped[datetime | None]
    #: the last envelope accepted (the countersigned one once acknowledged)
    envelope: Mapped[str | None] = mapped_column(Text)
    drafted_at: Mapped[datetime]
    updated_at: Mapped[datetime]


@dataclass(frozen=True, slots=True)
class Letter:
    """A letter as read back: its document and where it stands."""

    id: int
    state: str
    document: LetterDocument
    digest: str
    sender_party: str
    recipient_party: str
    signature: SignatureInfo | None
    acknowledgement: SignatureInfo | None
    envelope: Mapping[str, Any] | None
    superseded_by: int | None
    updated_at: datetime

    @property
    def payload(self) -> dict[str, Any]:
        return self.document.payload()

    @classmethod
    def from_row(cls, row: Any) -> Letter:
        def sig(party: str, kid: str | None, at: datetime | None) -> SignatureInfo | None:
            if kid is None or at is None:
                return None
            stamp = as_utc(at)
            assert stamp is not None
            return SignatureInfo(party=party, kid=kid, signed_at=stamp)

        updated = as_utc(row.updated_at)
        assert updated is not None
        return cls(
            id=row.id, state=row.state,
            document=LetterDocument.from_payload(json.loads(row.document)), digest=row.digest,
            sender_party=row.sender_party, recipient_party=row.recipient_party,
            signature=sig(row.sender_party, row.signature_kid, row.signed_at),
            acknowledgement=sig(row.recipient_party, row.acknowledgement_kid,
                                row.acknowledged_at),
            envelope=json.loads(row.envelope) if row.envelope else None,
            superseded_by=row.superseded_by, updated_at=updated)


def _live_key(member_key: str, year: int, sender: str) -> str:
    return f"{member_key}:{year}:{sender}"


async def _row(conn: AsyncConnection, letter_id: int) -> Any:
    return (await conn.execute(select(LetterRow).where(LetterRow.id == letter_id))).first()


def draft_effect(*, member_name: str | None, sender: LetterParty,
                 recipient: LetterParty) -> Effect:
    """The draft's change, in its entry's transaction: fill in the year, write the letter,
    retire the draft its entry supersedes (the ledger checked it is the party's own
    `evaluation_letter` entry about this member). STATE_CONFLICT when a live letter exists
    that the request does not name, or the named one is not this year's live draft."""

    async def effect(conn: AsyncConnection, entry: Entry) -> None:
        supersedes = entry.supersedes
        payload = entry.payload
        assert isinstance(payload, EvaluationLetter) and entry.member_key is not None
        live = _live_key(entry.member_key, payload.year, sender.party)
        current = (await conn.execute(select(LetterRow.id, LetterRow.state).where(
            LetterRow.live_key == live))).first()
        if current is not None and current.id != supersedes:
            raise StateConflict(
                f"letter {current.id} ({current.state}) is already this member's letter for "
                f"{payload.year}" + (": pass `supersedes` with its number to replace the "
                                     "draft" if current.state == LetterState.DRAFT else
                                     "; a signed letter is final"))
        if supersedes is not None:
            if current is None:
                raise StateConflict(
                    f"letter {supersedes} is not a live letter of this member for "
                    f"{payload.year} by this party; nothing to supersede")
            if current.state != LetterState.DRAFT:
                raise StateConflict(f"letter {supersedes} is {current.state}: only a draft "
                                    "can be superseded; a signed letter is final")
            await conn.execute(update(LetterRow).where(
                LetterRow.id == supersedes, LetterRow.state == LetterState.DRAFT).values(
                state=LetterState.SUPERSEDED, live_key=None, superseded_by=entry.id,
                updated_at=entry.recorded_at))
        document = LetterDocument(
            letter_id=str(entry.id), year=payload.year, member_key=entry.member_key,
            member_name=member_name, sender=sender, recipient=recipient,
            performance=payload.performance,
            attendance=await attendance_of_year(conn, entry.member_key, payload.year),
            points=await points_of_year(conn, entry.member_key, payload.year),
            recommendation=Recommendation(payload.recommendation), text=payload.text or "",
            drafted_at=format_time(entry.recorded_at))
        body = document.payload()
        await conn.execute(insert(LetterRow).values(
            id=entry.id, member_key=entry.member_key, year=payload.year,
            sender_party=sender.party, sender_org=sender.organization or entry.organization,
            recipient_party=recipient.party, recipient_org=recipient.organization,
            state=LetterState.DRAFT, recommendation=payload.recommendation, live_key=live,
            document=canonical(body).decode(), digest=payload_digest(body),
            drafted_at=entry.recorded_at, updated_at=entry.recorded_at))

    return effect


def signature_effect(letter_id: int, signature: SignatureInfo) -> Effect:
    """draft -> signed, checked in the transaction (a concurrent signer loses)."""

    async def effect(conn: AsyncConnection, entry: Entry) -> None:
        assert isinstance(entry.payload, EvaluationLetterSignature)
        done = await conn.execute(update(LetterRow).where(
            LetterRow.id == letter_id, LetterRow.state == LetterState.DRAFT).values(
            state=LetterState.SIGNED, signature_entry=entry.id, signature_kid=signature.kid,
            signed_at=signature.signed_at, envelope=entry.payload.envelope,
            updated_at=entry.recorded_at))
        if done.rowcount != 1:
            row = await _row(conn, letter_id)
            raise StateConflict(f"letter {letter_id} is {row.state if row else 'gone'}: only "
                                "a draft can be signed")

    return effect


def acknowledgement_effect(letter_id: int, signature: SignatureInfo) -> Effect:
    """signed -> acknowledged, checked in the transaction."""

    async def effect(conn: AsyncConnection, entry: Entry) -> None:
        assert isinstance(entry.payload, EvaluationLetterAcknowledgement)
        done = await conn.execute(update(LetterRow).where(
            LetterRow.id == letter_id, LetterRow.state == LetterState.SIGNED).values(
            state=LetterState.ACKNOWLEDGED, acknowledgement_entry=entry.id,
            acknowledgement_kid=signature.kid, acknowledged_at=signature.signed_at,
            envelope=entry.payload.envelope, updated_at=entry.recorded_at))
        if done.rowcount != 1:
            row = await _row(conn, letter_id)
            raise StateConflict(f"letter {letter_id} is {row.state if row else 'gone'}: only "
                                "a signed letter can be acknowledged")

    return effect


def envelope_text(envelope: Mapping[str, Any]) -> str:
    """The envelope as a payload stores it (canonical JSON text)."""
    return canonical(dict(envelope)).decode()


async def letter_by_id(sessions: async_sessionmaker[AsyncSession],
                       letter_id: int) -> Letter | None:
    """Unscoped: the caller checks that the asking party is the letter's sender or
    recipient and may see the member."""
    async with sessions() as session:
        row = (await session.execute(select(LetterRow).where(LetterRow.id == letter_id))
               ).scalar_one_or_none()
        return Letter.from_row(row) if row is not None else None
