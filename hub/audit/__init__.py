"""Append-only, hash-chained audit log of access decisions with hub-signed checkpoints."""

from hub.audit.log import (
    AuditEntry,
    AuditEvent,
    AuditLog,
    Decision,
    operation_hash,
)
from hub.audit.verify import VerifyReport, verify_log

__all__ = [
    "AuditEntry",
    "AuditEvent",
    "AuditLog",
    "Decision",
    "VerifyReport",
    "operation_hash",
    "verify_log",
]
