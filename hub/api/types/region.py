"""Regions by GB/T 2260 code (names from connectors.regions)."""

from __future__ import annotations

import strawberry

from connectors.regions import region_by_code

__all__ = ["Region", "region"]


@strawberry.type(description="行政区划（GB/T 2260）。 An administrative division by "
                 "GB/T 2260 code.")
class Region:
    code: str = strawberry.field(description="6 位行政区划代码。 6-digit GB/T 2260 code.")

    @strawberry.field(description="名称，如“温江区”；未收录的代码为空。 Name, e.g. 温江区; null "
                      "for a well-formed code the hub's table does not list.")
    def name(self) -> str | None:
        found = region_by_code(self.code)
        return found.name if found else None

    @strawberry.field(description="上级区划。 The enclosing division (city or province).")
    def parent(self) -> Region | None:
        found = region_by_code(self.code)
        return Region(code=found.parent) if found and found.parent else None


def region(code: str | None) -> Region | None:
    return Region(code=code) if code else None
