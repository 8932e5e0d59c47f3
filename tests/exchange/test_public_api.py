"""The public surface of hub.exchange and of its GraphQL guard: what the workflows build on.
Changing it is a decision (other workflows import these names), not an accident."""

from __future__ import annotations

import hub.api.exchange
import hub.exchange

EXCHANGE = {
    "ACTIONS", "ActionSpec", "Payload", "action", "spec_of", "payload_from_json",
    "check_text", "check_choice", "check_int", "PayloadInvalid", "IdempotencyConflict",
    "LedgerUnavailable",
    "ExchangeEntryRow", "Entry", "Draft", "Appended", "Effect", "append", "entry_by_id",
    "entries_of_member", "current", "CheckIn", "CheckInCodeIssued", "Report",
    "ReportConfirmation", "confirmed_changes", "absences_by_report",
    "ReconciliationSigned",  # hub.reconcile records a report all parties signed (issue 9)
    # workflows 3 and 4 (hub.exchange.tasks, hub.exchange.orglife)
    "TaskPublication", "TaskClaim", "TaskCompletion", "TaskReview", "OrganizationLife",
}


def test_the_exchange_package_exports_what_it_names() -> None:
    assert set(hub.exchange.__all__) == EXCHANGE
    for name in hub.exchange.__all__:
        assert getattr(hub.exchange, name) is not None, name
    assert {"checkin", "checkin_code", "report", "report_confirmation", "reconciliation",
            "task_publish", "task_claim", "task_report", "task_review",
            "organization_life"} <= set(hub.exchange.ACTIONS)


def test_the_guard_exports_what_it_names() -> None:
    assert set(hub.api.exchange.__all__) == {"Intent", "ledger_action", "IDEMPOTENCY_HEADER",
                                             "may_record_at"}
    for name in hub.api.exchange.__all__:
        assert getattr(hub.api.exchange, name) is not None
