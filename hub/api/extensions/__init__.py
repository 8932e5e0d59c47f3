"""Cross-cutting steps around execution: limits, the policy point, error codes."""

from hub.api.extensions.analysis import QueryPlan, analyse
from hub.api.extensions.audit import AuditExtension
from hub.api.extensions.errors import ErrorsExtension, format_error
from hub.api.extensions.limits import LimitsExtension
from hub.api.extensions.policy import PolicyExtension

__all__ = [
    "QueryPlan",
    "analyse",
    "AuditExtension",
    "ErrorsExtension",
    "format_error",
    "LimitsExtension",
    "PolicyExtension",
]
