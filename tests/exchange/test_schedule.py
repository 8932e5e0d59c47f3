"""Obligations as scheduled instances: due, fulfilled by an entry, overdue after the grace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hub.contracts.demo import two_party_contract
from hub.contracts.model import parse_contract
from hub.exchange.schedule import (
    CST,
    FULFILMENT_CHECKS,
    FulfillingEntry,
    ObligationState,
    obligation_instances,
    periods,
    register_fulfilment_check,
)

START = datetime(2025, 1, 1, tzinfo=CST)


def _contract() -> Any:
    return parse_contract(two_party_contract(
        ("wenjiang", "温江", ["510115"]), ("luxian", "泸县", ["510521"]),
        not_before=START.astimezone(UTC), not_after=datetime(2027, 1, 1, tzinfo=UTC)))


def test_periods_are_calendar_quarters_in_china_time() -> None:
    quarters = periods("quarterly", START, datetime(2025, 7, 2, tzinfo=UTC))
    assert [p[0].astimezone(CST).month for p in quarters] == [1, 4, 7]
    assert quarters[0][1] == datetime(2025, 4, 1, tzinfo=CST)


def test_states_and_fulfilment() -> None:
    c = _contract()
    now = datetime(2025, 10, 20, tzinfo=UTC)
    entries = [
        # Q1 reconciliation, in its grace (fulfils Q1, not Q2 as well)
        FulfillingEntry(1, "reconciliation", "luxian", (c.digest,),
                        datetime(2025, 4, 10, tzinfo=UTC)),
        # by the wrong party: fulfils nothing
        FulfillingEntry(2, "reconciliation", "wenjiang", (c.digest,),
                        datetime(2025, 8, 1, tzinfo=UTC)),
        # under another contract: fulfils nothing
        FulfillingEntry(3, "reconciliation", "luxian", ("sha256:other",),
                        datetime(2025, 8, 1, tzinfo=UTC)),
    ]
    found = obligation_instances(c, entries, now)
    quarterly = [i for i in found if i.what == "reconciliation"]
    assert [i.state for i in quarterly] == [ObligationState.FULFILLED, ObligationState.OVERDUE,
                                           ObligationState.OVERDUE, ObligationState.DUE]
    assert quarterly[0].fulfilled_by == 1 and quarterly[0].party == "luxian"
    assert quarterly[0].to == ("wenjiang",)
    yearly = [i for i in found if i.what == "evaluation_letter"]
    assert len(yearly) == 1 and yearly[0].state is ObligationState.DUE
    assert yearly[0].grace_until == datetime(2026, 1, 1, tzinfo=CST) + timedelta(days=31)
    # the destination sees the instances it owes and those owed to it; a stranger none
    assert len(obligation_instances(c, entries, now, party="wenjiang")) == len(found)
    assert obligation_instances(c, entries, now, party="deyang") == []


def test_a_check_per_action_narrows_what_fulfils() -> None:
    c = _contract()
    entry = FulfillingEntry(1, "reconciliation", "luxian", (c.digest,),
                            datetime(2025, 2, 1, tzinfo=UTC), {"signed": False})
    register_fulfilment_check("reconciliation", lambda p: bool(p.get("signed")))
    try:
        q1 = obligation_instances(c, [entry], datetime(2025, 3, 1, tzinfo=UTC))[0]
        assert q1.state is ObligationState.DUE
    finally:
        FULFILMENT_CHECKS.pop("reconciliation", None)


def test_a_reconciliation_both_signed_is_each_signers_act() -> None:
    """The entry of a countersigned reconciliation is recorded by whichever party signed last;
    it fulfils the quarter for every signer (the origin here, recorded by the destination)."""
    c = _contract()
    now = datetime(2025, 5, 1, tzinfo=UTC)
    signed = FulfillingEntry(7, "reconciliation", "wenjiang", (c.digest,),
                             datetime(2025, 3, 20, tzinfo=UTC),
                             {"signers": ["luxian", "wenjiang"]})
    quarterly = [i for i in obligation_instances(c, [signed], now)
                 if i.what == "reconciliation"]
    assert quarterly[0].party == "luxian" and quarterly[0].state is ObligationState.FULFILLED
    assert quarterly[0].fulfilled_by == 7


def test_the_annual_letter_is_sent_when_signed_not_when_drafted() -> None:
    import hub.exchange.letters  # noqa: F401  (registers the letter's fulfilling action)

    c = _contract()
    now = datetime(2025, 12, 20, tzinfo=UTC)
    drafted = FulfillingEntry(8, "evaluation_letter", "wenjiang", (c.digest,),
                              datetime(2025, 12, 1, tzinfo=UTC))
    signed = FulfillingEntry(9, "evaluation_letter_signature", "wenjiang", (c.digest,),
                             datetime(2025, 12, 2, tzinfo=UTC))

    def yearly(entries: list[FulfillingEntry]) -> Any:
        return next(i for i in obligation_instances(c, entries, now)
                    if i.what == "evaluation_letter")

    assert yearly([drafted]).state is ObligationState.DUE
    assert yearly([drafted, signed]).fulfilled_by == 9


def test_a_reconciliation_fulfils_the_quarter_it_names_even_late() -> None:
    c = _contract()
    now = datetime(2025, 12, 20, tzinfo=UTC)
    late = FulfillingEntry(10, "reconciliation", "luxian", (c.digest,),
                           datetime(2025, 12, 1, tzinfo=UTC),
                           {"period": "2025Q2", "signers": ["luxian", "wenjiang"]})
    quarterly = {i.period_start.astimezone(CST).month: i
                 for i in obligation_instances(c, [late], now) if i.what == "reconciliation"}
    assert quarterly[4].state is ObligationState.FULFILLED and quarterly[4].fulfilled_by == 10
    # the quarter it was signed in is not fulfilled by it
    assert quarterly[10].state is ObligationState.DUE


def test_last_years_letters_signed_in_january_fulfil_last_year_only() -> None:
    """The destination signs last year's letters in January: each letter names the year it is
    about, so the first fulfils last year's obligation and none fulfils this year's (before,
    the second letter signed in January fulfilled this year's too)."""
    import json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    import hub.exchange.letters  # noqa: F401  (registers how a signature names its year)
    from hub.letter_signing import LETTER_TYPE, sign_letter

    c = _contract()
    yearly = [o for o in c.obligations if o.schedule == "yearly"]
    assert yearly, "the two-party contract owes a yearly letter"
    key = Ed25519PrivateKey.generate()

    def signed(number: int, year: int, day: int) -> FulfillingEntry:
        envelope = sign_letter({"type": LETTER_TYPE, "year": year, "member": f"m{number}"},
                               key, "wenjiang-1")
        return FulfillingEntry(number, "evaluation_letter_signature", "wenjiang", (c.digest,),
                               datetime(2026, 1, day, tzinfo=UTC),
                               {"envelope": json.dumps(envelope)})

    now = datetime(2026, 3, 1, tzinfo=UTC)
    found = obligation_instances(c, [signed(1, 2025, 8), signed(2, 2025, 9)], now)
    letters = {i.period_start.astimezone(CST).year: i for i in found
               if i.what == "evaluation_letter"}
    assert letters[2025].state is ObligationState.FULFILLED and letters[2025].fulfilled_by == 1
    assert letters[2026].state is ObligationState.DUE and letters[2026].fulfilled_by is None
    # a letter about this year, signed now, fulfils this year's
    found = obligation_instances(c, [signed(1, 2025, 8), signed(3, 2026, 20)], now)
    this_year = [i for i in found if i.what == "evaluation_letter"
                 and i.period_start.astimezone(CST).year == 2026]
    assert this_year[0].state is ObligationState.FULFILLED and this_year[0].fulfilled_by == 3
