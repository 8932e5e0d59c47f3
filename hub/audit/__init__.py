"""Append-only, hash-chained audit log of access decisions with hub-signed checkpoints."""

from hub.audit.access import AccessRecord, access_event
from hub.audit.log import (
    AuditEntry,
    AuditEvent,
    AuditLog,
    Decision,
    operation_hash,
)
from hub.audit.verify import VerifyReport, verify_log

__all__ = [
    "AccessRecord",
    "AuditEntry",
    "AuditEvent",
    "AuditLog",
    "Decision",
    "VerifyReport",
    "access_event",
    "operation_hash",
    "verify_log",
]
