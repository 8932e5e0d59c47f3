"""Custom scalars: `PartialDate`, a date known to year, month or day precision, and `JSON`
(a ledger entry's payload, hub.api.types.exchange: use this one, not strawberry's, so the
schema carries one `JSON` with a bilingual description)."""

from __future__ import annotations

from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from connectors.base import PartialDate

__all__ = ["PartialDate", "SCALAR_MAP", "JSON"]


def _serialize(value: Any) -> str:
    # a policy may coarsen a date to its year (Transform.YEAR gives "2016" or 2016)
    return str(value)


def _parse(value: Any) -> PartialDate:
    if not isinstance(value, str):
        raise ValueError("a PartialDate is a string: 2016, 2016-03 or 2016-03-01")
    return PartialDate.parse_iso(value)


def _identity(value: Any) -> Any:
    return value


#: any JSON value (an exchange-ledger entry's payload)
JSON = NewType("JSON", object)

SCALAR_MAP: dict[object, ScalarDefinition] = {
    JSON: strawberry.scalar(
        name="JSON",
        description="JSON 值（对象、数组、字符串、数字、布尔或 null）。 A JSON value (object, "
                    "array, string, number, boolean or null), e.g. an exchange-ledger entry's "
                    "payload.",
        serialize=_identity,
        parse_value=_identity,
    ),
    PartialDate: strawberry.scalar(
        name="PartialDate",
        description=(
            "部分日期：精确到年、月或日，如 \"2016\"、\"2016-03\"、\"2016-03-01\"（台账中的"
            "“2016年3月”不会被补成 3 月 1 日）。 A date known to year, month or day precision, "
            "in ISO 8601 at that precision: \"2016\", \"2016-03\" or \"2016-03-01\"."
        ),
        serialize=_serialize,
        parse_value=_parse,
    )
}
