"""Argument values are checked against their type before they reach SQL or the policy.

A filter value is not only a search term: the contract policy decides a routing filter
(region, organisation, status) from its value before execution, and the SQL behind it builds
LIKE patterns from region codes. `members(filter: {destinationRegion: "3%0000"})` once passed
the policy as "a province the contract does not reach" and then matched every member in SQL.
So every value is checked against what it is (a region code is six digits, an organisation
code a short code without spaces or wildcards, ...) and refused with BAD_USER_INPUT naming the
argument, and LIKE patterns are built with escaping all the same (defence in depth).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from hub.errors import RequestError

__all__ = [
    "BadUserInput",
    "check_region",
    "check_org_code",
    "check_source_name",
    "check_issue_code",
    "check_text",
    "ROUTING_CHECKS",
]

_REGION = re.compile(r"\d{6}")
#: organisation codes are shared by every system: letters, digits and - _ . : (no spaces,
#: no % or other pattern characters), at most 64 characters
_ORG_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
#: as schema/mapping.schema.json names a source
_SOURCE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")
#: data-issue codes: INVALID_ID_NUMBER, MISSING_KEY ...
_ISSUE_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")


class BadUserInput(RequestError):
    """An argument value that is not a value of its type; nothing was run."""

    code = "BAD_USER_INPUT"


def _check(pattern: re.Pattern[str], what: str) -> Callable[[object, str], str]:
    def check(value: object, argument: str) -> str:
        if not isinstance(value, str) or pattern.fullmatch(value) is None:
            raise BadUserInput(f"`{argument}` must be {what}")
        return value

    return check


check_region = _check(_REGION, "a 6-digit GB/T 2260 region code, e.g. 510115 or 510000")
check_org_code = _check(_ORG_CODE, "an organisation code (letters, digits, - _ . :; at most "
                                   "64 characters)")
check_source_name = _check(_SOURCE_NAME, "a source system's name, e.g. chengdu")
check_issue_code = _check(_ISSUE_CODE, "a data-issue code, e.g. INVALID_ID_NUMBER")


def check_text(value: object, argument: str) -> str:
    """Free text searched with `contains` (escaped there): printable, no control characters.
    Its length is bounded by the request body limit (`limits.max_body_bytes`)."""
    if not isinstance(value, str) or any(not ch.isprintable() for ch in value):
        raise BadUserInput(f"`{argument}` must be printable text (no control characters)")
    return value


def _check_status(value: object, argument: str) -> str:
    # execution sees the enum member; the plan sees its canonical value
    from hub.api.types.enums import MemberStatus

    raw = getattr(value, "value", value)
    if raw not in {s.value for s in MemberStatus}:
        names = ", ".join(s.name for s in MemberStatus)
        raise BadUserInput(f"`{argument}` must be a MemberStatus ({names}), "
                           f"got {str(raw)[:40]!r}")
    return str(raw)


#: routing kind (hub.api.extensions.analysis.FilterUse.routing) -> its check: the policy
#: decides with these values, so they are checked before it is asked
ROUTING_CHECKS: dict[str, Callable[[object, str], str]] = {
    "origin_region": check_region,
    "destination_region": check_region,
    "origin_org": check_org_code,
    "status": _check_status,
}
