"""Custom scalars: `PartialDate`, a date known to year, month or day precision."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types.scalar import ScalarDefinition

from connectors.base import PartialDate

__all__ = ["PartialDate", "SCALAR_MAP"]


def _serialize(value: Any) -> str:
    # a policy may coarsen a date to its year (Transform.YEAR gives "2016" or 2016)
    return str(value)


def _parse(value: Any) -> PartialDate:
    if not isinstance(value, str):
        raise ValueError("a PartialDate is a string: 2016, 2016-03 or 2016-03-01")
    return PartialDate.parse_iso(value)


SCALAR_MAP: dict[object, ScalarDefinition] = {
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
