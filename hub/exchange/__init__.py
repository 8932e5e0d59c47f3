"""The exchange ledger (交换台账): every workflow action as an append-only, audited entry.

Layers: hub.exchange sits above hub.contracts/hub.policy/hub.audit and below hub.api. It owns
the table (`exchange_entries`, hub.exchange.ledger), the typed payloads (one per action,
hub.exchange.payloads) and the workflows' plain-value logic. The GraphQL guard that checks
contracts for every mutation is `hub.api.exchange.ledger_action`.

How a workflow adds an action (three steps, nothing else to repeat):

1. **Payload type** in a module of this package (e.g. `hub/exchange/tasks.py`), imported
   below so it registers::

       @action("task_claim", permission="task_claim")   # permission: a contract record
       @dataclass(frozen=True, slots=True)              # action (RECORD_ACTIONS)
       class TaskClaim(Payload):
           note: str | None = None
           policed: ClassVar = {}     # payload field -> (GraphQL type, field) it reads like

           def validate(self) -> None:                  # PayloadInvalid(field, problem)
               check_text("note", self.note, max_length=500)

2. **Guard** — the mutation (a module in hub/api/types/, listed in hub.api.schema.PLUGINS)
   returns an `Intent`; `@ledger_action` resolves member and organisation, requires the
   permission from an active contract covering the member and the organisation to be the
   caller's own or named by a contract (CONTRACT_DENIED, audited), adds `idempotencyKey`
   (or the `Idempotency-Key` header) and returns an `ExchangeReceipt` (entry + nodes)::

       @strawberry.mutation(description="认领任务。 Claim a task.")
       @ledger_action("task_claim")
       async def claim_task(self, info: Info, task: int, member_key: strawberry.ID,
                            organization: strawberry.ID) -> Intent:
           return Intent(TaskClaim(), organization=str(organization),
                         member_key=str(member_key), answers=task)

   `Intent.effects` are `async (conn, entry) -> None` changes to the index made in the
   entry's own transaction; one may raise a HubError to refuse (nothing is written), and
   since appends are serialised per process (the audit writer's lock) a check it makes
   (e.g. a task's capacity) holds until commit. `answers` links to an earlier entry (checked
   to exist); `supersedes` corrects one of the party's own entries of the same action and
   member, once (the newest correction is corrected next). An action about no member
   (`member_key=None`) needs the permission from any contract of the caller, at one of its
   own organisations.

3. **Append** — done by the guard through `append(audit_log, Draft, event)`: the entry and its
   audit decision commit together (`AuditLog.append_within`); the same key and input replay
   the entry (`Appended.replayed`), other input is IDEMPOTENCY_CONFLICT. Read entries back
   with `entry_by_id` / `entries_of_member` (unscoped: police what you show; `current`
   drops superseded versions). In GraphQL, `hub.api.types.exchange.visible_entries(ctx)`
   is the SQL condition of the entries a caller may see, `ExchangeEntry` shows one, and
   `hub.api.types.keyset` pages by entry number both ways (first/after, last/before).
"""

from __future__ import annotations

# importing a workflow module registers its actions (ACTIONS): every one is imported here
from hub.exchange import letters as letters  # workflow 5, 年终发函
from hub.exchange import transfers as transfers  # workflow 6, 组织关系转接
from hub.exchange.checkin import CheckIn, CheckInCodeIssued
from hub.exchange.errors import IdempotencyConflict, LedgerUnavailable, PayloadInvalid
from hub.exchange.ledger import (
    Appended,
    Draft,
    Effect,
    Entry,
    ExchangeEntryRow,
    append,
    current,
    entries_of_member,
    entry_by_id,
)
from hub.exchange.orglife import OrganizationLife
from hub.exchange.payloads import (
    ACTIONS,
    ActionSpec,
    Payload,
    action,
    check_choice,
    check_int,
    check_text,
    payload_from_json,
    spec_of,
)
from hub.exchange.reconciliation import ReconciliationSigned
from hub.exchange.reports import (
    Report,
    ReportConfirmation,
    absences_by_report,
    confirmed_changes,
)
from hub.exchange.tasks import TaskClaim, TaskCompletion, TaskPublication, TaskReview

__all__ = [
    "ACTIONS", "ActionSpec", "Payload", "action", "spec_of", "payload_from_json",
    "check_text", "check_choice", "check_int",
    "PayloadInvalid", "IdempotencyConflict", "LedgerUnavailable",
    "ExchangeEntryRow", "Entry", "Draft", "Appended", "Effect", "append", "entry_by_id",
    "entries_of_member", "current",
    "CheckIn", "CheckInCodeIssued", "Report", "ReportConfirmation", "confirmed_changes",
    "absences_by_report", "ReconciliationSigned",
    "TaskPublication", "TaskClaim", "TaskCompletion", "TaskReview", "OrganizationLife",
]
