"""报告 reports (双报, workflow 2): a member's report to the origin branch, and its confirmation.

Kinds (`REPORT_KINDS`): a monthly work and thought report (`monthly`, with its `period`
YYYY-MM and text), a change of address, employer (and occupation) or phone
(`address_change`, `employer_change`, `phone_change`, with the new value), and a report that
the member could not attend an activity (`absence`, naming the activity; it counts as
attendance "by report" for that activity, article 004: `absences_by_report`).

Both actions need the contract's `status_report` record permission. A report is recorded at
the recording party's own branch and names the member's origin organisation too; the origin
confirms (or rejects) it with a `report_confirmation` entry answering it, at the member's
origin organisation. A change takes effect in the four clarities (四个清楚) only once
confirmed: `confirmed_changes` gives the values in force from a member's entries. Reported
values are member data and are read like the member fields they change (`Report.policed`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from hub.exchange.errors import PayloadInvalid
from hub.exchange.ledger import Entry, ExchangeEntryRow, current
from hub.exchange.payloads import Payload, action, check_choice, check_text

__all__ = ["Report", "ReportConfirmation", "REPORT_KINDS", "CHANGE_FIELDS", "ConfirmedValue",
           "confirmed_changes", "absences_by_report", "one_confirmation", "MAX_REPORT_TEXT"]

REPORT_KINDS = ("monthly", "address_change", "employer_change", "phone_change", "absence")
#: kind -> the payload fields it changes (first required) and the canonical member fields
CHANGE_FIELDS: Mapping[str, Mapping[str, str]] = {
    "address_change": {"address": "destination_address"},
    "employer_change": {"employer": "employer", "occupation": "occupation"},
    "phone_change": {"phone": "phone"},
}
MAX_REPORT_TEXT = 2000
_PERIOD = re.compile(r"(19|20)\d\d-(0[1-9]|1[0-2])")
_PHONE = re.compile(r"\+?[0-9]{7,15}")


@action("report", permission="status_report")
@dataclass(frozen=True, slots=True)
class Report(Payload):
    kind: str
    #: the month a monthly report is for, YYYY-MM
    period: str | None = None
    #: the report itself (monthly), or why the member could not attend (absence)
    text: str | None = None
    address: str | None = None
    employer: str | None = None
    occupation: str | None = None
    phone: str | None = None
    #: the activity an absence report is about (its index key, e.g. "chengdu:a1")
    activity: str | None = None

    policed: ClassVar[Mapping[str, tuple[str, str]]] = {
        "address": ("Destination", "address"), "employer": ("Work", "employer"),
        "occupation": ("Work", "occupation"), "phone": ("Member", "phone"),
    }

    def validate(self) -> None:
        check_choice("kind", self.kind, REPORT_KINDS)
        changes = CHANGE_FIELDS.get(self.kind, {})
        for name in ("address", "employer", "occupation", "phone"):
            if getattr(self, name) is not None and name not in changes:
                raise PayloadInvalid(name, f"is not part of a {self.kind} report")
        for name in changes:
            check_text(name, getattr(self, name), max_length=200,
                       required=name == next(iter(changes)))
        if self.phone is not None and not _PHONE.fullmatch(self.phone):
            raise PayloadInvalid("phone", "digits only (7 to 15, an optional leading +)")
        check_text("text", self.text, max_length=MAX_REPORT_TEXT,
                   required=self.kind == "monthly")
        if self.kind == "monthly":
            if self.period is None or not _PERIOD.fullmatch(self.period):
                raise PayloadInvalid("period", "a monthly report names its month, YYYY-MM")
        elif self.period is not None:
            raise PayloadInvalid("period", f"is not part of a {self.kind} report")
        if self.kind == "absence":
            check_text("activity", self.activity, max_length=128, required=True)
        elif self.activity is not None:
            raise PayloadInvalid("activity", f"is not part of a {self.kind} report")


@action("report_confirmation", permission="status_report")
@dataclass(frozen=True, slots=True)
class ReportConfirmation(Payload):
    """The origin's answer to a report: accepted (a change then takes effect) or not."""

    accepted: bool = True
    note: str | None = None

    def validate(self) -> None:
        check_text("note", self.note, max_length=500)


async def one_confirmation(conn: AsyncConnection, entry: Entry) -> None:
    """An effect for `report_confirmation`: a report is confirmed once; a different answer
    is a correction of the first (`supersedes`)."""
    if entry.answers is None:
        raise PayloadInvalid("report", "a confirmation answers a report")
    rows = (await conn.execute(select(ExchangeEntryRow.id, ExchangeEntryRow.supersedes).where(
        ExchangeEntryRow.answers == entry.answers,
        ExchangeEntryRow.action == "report_confirmation",
        ExchangeEntryRow.id != entry.id))).all()
    replaced = {r.supersedes for r in rows} | ({entry.supersedes} - {None})
    standing = [r.id for r in rows if r.id not in replaced]
    if standing:
        raise PayloadInvalid("report", f"report {entry.answers} was confirmed by entry "
                             f"{standing[0]}; to change the answer, supersede that entry")


@dataclass(frozen=True, slots=True)
class ConfirmedValue:
    """A member field as a confirmed report set it."""

    value: str
    #: when the origin confirmed it (the value's time for newest-wins)
    confirmed_at: datetime
    report: Entry
    confirmation: Entry


def confirmed_changes(entries: Iterable[Entry]) -> dict[str, ConfirmedValue]:
    """Canonical member field -> its newest confirmed value, from one member's entries
    (reports and confirmations; superseded versions ignored)."""
    live = current(list(entries))
    reports = {e.id: e for e in live if e.action == "report"}
    out: dict[str, ConfirmedValue] = {}
    confirmations = sorted((e for e in live if e.action == "report_confirmation"),
                           key=lambda e: (e.recorded_at, e.id))
    for confirmation in confirmations:
        assert isinstance(confirmation.payload, ReportConfirmation)
        report = reports.get(confirmation.answers or -1)
        if report is None or not confirmation.payload.accepted:
            continue
        assert isinstance(report.payload, Report)
        for name, canonical in CHANGE_FIELDS.get(report.payload.kind, {}).items():
            value = getattr(report.payload, name)
            if value is not None:
                out[canonical] = ConfirmedValue(value, confirmation.recorded_at, report,
                                                confirmation)
    return out


async def absences_by_report(sessions: async_sessionmaker[AsyncSession],
                             activities: Sequence[str]) -> dict[str, set[str]]:
    """Activity key -> members who reported they could not attend it: their attendance
    counts "by report" (article 004; participation rate = (present + online + by report) /
    expected). A report the origin rejected does not count; a corrected one counts as
    corrected. Unscoped: the caller polices what it shows (workflows' statistics)."""
    if not activities:
        return {}
    async with sessions() as session:
        rows = list(await session.scalars(select(ExchangeEntryRow).where(
            ExchangeEntryRow.action.in_(("report", "report_confirmation")))
            .order_by(ExchangeEntryRow.id)))
    entries = current([Entry.from_row(r) for r in rows])
    rejected = {e.answers for e in entries if e.action == "report_confirmation"
                and isinstance(e.payload, ReportConfirmation) and not e.payload.accepted}
    wanted = set(activities)
    out: dict[str, set[str]] = {a: set() for a in activities}
    for e in entries:
        payload = e.payload
        if isinstance(payload, Report) and payload.kind == "absence" and \
                payload.activity in wanted and e.id not in rejected and e.member_key:
            out[payload.activity].add(e.member_key)
    return out
