"""What one operation did, in plain values: the `AccessRecord` the API hands to the audit log.

Why a record of its own: the audit log sits below the API and must not read the API's request
`Context` (that would put the domain above the GraphQL layer). The API's audit extension
(hub.api.extensions.audit) collects the decision while the operation runs and builds one
`AccessRecord` from it afterwards; `access_event` turns that into the `AuditEvent` the log
chains. Keys, field names and contract digests only: never a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from hub.audit.log import AuditEvent, Decision
from hub.audit.privacy import operation_hash
from hub.clock import utcnow

__all__ = ["AccessRecord", "access_event"]


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One operation as the audit log keeps it."""

    party: str | None
    user: str | None
    purpose: str | None
    #: the operation's text (hashed, never stored) and the operation it named
    document: str | None
    operation_name: str | None
    #: "Type.field" of member data the operation asked for (no pagination plumbing)
    fields_asked: frozenset[str] = frozenset()
    #: "Type.field" refused before execution, or nulled for some member
    fields_denied: frozenset[str] = frozenset()
    #: keys of the members whose objects the operation produced
    members_touched: frozenset[str] = frozenset()
    #: members asked for by key that the caller may not see
    members_hidden: int = 0
    #: the whole operation was refused
    refused: bool = False
    #: the operation could not run at all: its error code, lower-cased
    rejected: str | None = None
    #: the contracts the decision relied on
    contract_digests: Sequence[str] = ()

    @property
    def decision(self) -> Decision:
        if self.refused:
            return Decision.DENIED
        if self.rejected is not None:
            return Decision.REJECTED
        if self.fields_denied or self.members_hidden:
            return Decision.PARTIAL
        return Decision.ALLOWED


def access_event(record: AccessRecord, *, now: datetime | None = None) -> AuditEvent:
    """The audit entry of one operation."""
    return AuditEvent(
        at=now or utcnow(), party=record.party, user=record.user, purpose=record.purpose,
        decision=record.decision,
        operation_hash=operation_hash(record.document or "", record.operation_name),
        contract_digests=record.contract_digests, member_keys=sorted(record.members_touched),
        fields_allowed=(sorted(record.fields_asked - record.fields_denied)
                        if record.rejected is None else ()),
        fields_denied=sorted(record.fields_denied),
        reason=record.rejected if not record.refused else None,
    )
