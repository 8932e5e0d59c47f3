"""The hub's canonical model: the sides of the co-management agreement and field authority.

The canonical entities and fields themselves are one table in `connectors.canonical` (the
connectors must stand alone, and they emit these fields); this module gives the hub's view of
it: `Side` (which side of the agreement a source belongs to: settings, sync, the source
registry and the merge all speak of it) and `FIELD_AUTHORITY` (which side's value wins).
Everything above hub core imports the model from here, never from the layer that uses it most.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

__all__ = ["Side", "Authority", "FIELD_AUTHORITY"]


class Side(enum.Enum):
    """Which side of the co-management agreement a source system belongs to."""

    ORIGIN = "origin"            # 流出地
    DESTINATION = "destination"  # 流入地


class Authority(enum.Enum):
    ORIGIN = "origin"
    DESTINATION = "destination"
    NEWEST = "newest"


#: Canonical member field -> who wins. Fields not listed take the newest value.
FIELD_AUTHORITY: Mapping[str, Authority] = {
    # membership facts (党籍): origin wins
    "id_number": Authority.ORIGIN,
    "name": Authority.ORIGIN,
    "gender": Authority.ORIGIN,
    "birth_date": Authority.ORIGIN,
    "status": Authority.ORIGIN,
    "origin_org_id": Authority.ORIGIN,
    "origin_org_name": Authority.ORIGIN,
    "origin_region_code": Authority.ORIGIN,
    # residence, employer and organisation life: destination wins
    "destination_region_code": Authority.DESTINATION,
    "destination_address": Authority.DESTINATION,
    "employer": Authority.DESTINATION,
    "occupation": Authority.DESTINATION,
    "destination_since": Authority.DESTINATION,
    "destination_org_id": Authority.DESTINATION,
}
