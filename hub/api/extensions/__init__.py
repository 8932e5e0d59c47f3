"""Cross-cutting steps around execution: document caches, limits, the policy point, error
codes, audit."""

from hub.api.extensions.analysis import QueryPlan, analyse
from hub.api.extensions.audit import AuditExtension
from hub.api.extensions.documents import DocumentCache, ValidationResultCache
from hub.api.extensions.errors import ErrorsExtension, format_error
from hub.api.extensions.exposure import IntrospectionGate
from hub.api.extensions.limits import LimitsExtension
from hub.api.extensions.policy import PolicyExtension

__all__ = [
    "QueryPlan",
    "analyse",
    "AuditExtension",
    "DocumentCache",
    "ValidationResultCache",
    "ErrorsExtension",
    "IntrospectionGate",
    "format_error",
    "LimitsExtension",
    "PolicyExtension",
]
