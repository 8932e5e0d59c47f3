"""Value types of the synthetic world: people, their rows in each system, organisations,
activities and attendance.

A `Person` is the truth about one member *plus* what each side has on record, because the
point of the demo is that the two sides disagree: the destination knows the new phone and
employer, the origin keeps the authoritative name and status (hub.federation.merge).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

__all__ = [
    "SYSTEMS",
    "ORIGIN_SYSTEMS",
    "DESTINATION_SYSTEMS",
    "Defect",
    "DEFECT_FIELD",
    "BadRow",
    "Person",
    "SystemMember",
    "Organization",
    "Activity",
    "Attendance",
]

#: The four simulated record systems, by their source names in the hub (the fifth, the
#: auxiliary study platform, lists its own learners: hub.demo._study).
SYSTEMS: tuple[str, ...] = ("chengdu", "zhejiang", "village_ledger", "county")
ORIGIN_SYSTEMS: frozenset[str] = frozenset({"village_ledger", "county"})
DESTINATION_SYSTEMS: frozenset[str] = frozenset({"chengdu", "zhejiang"})


class Defect(enum.Enum):
    """A deliberate fault in one row; the value is the DataIssue code a connector must report."""

    INVALID_ID_NUMBER = "INVALID_ID_NUMBER"  # wrong check character
    INVALID_DATE = "INVALID_DATE"            # birth date that cannot be parsed
    UNKNOWN_CODE = "UNKNOWN_CODE"            # gender code the mapping does not know
    MISSING_VALUE = "MISSING_VALUE"          # required name left blank


#: The canonical field each defect is planted in.
DEFECT_FIELD: dict[Defect, str] = {
    Defect.INVALID_ID_NUMBER: "id_number",
    Defect.INVALID_DATE: "birth_date",
    Defect.UNKNOWN_CODE: "gender",
    Defect.MISSING_VALUE: "name",
}


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row planted with a defect: tests assert the connector reports exactly these."""

    system: str
    local_id: str
    field: str
    code: str


@dataclass(frozen=True, slots=True)
class Person:
    """One floating party member (流动党员) and what each side keeps about them."""

    index: int
    id_number: str
    name: str
    gender: str  # "male" | "female"
    birth_date: date
    status: str  # in_contact | lost_contact | returned | transferred_out (origin's record)
    origin_region_code: str
    origin_org_id: str
    destination_region_code: str
    destination_org_id: str
    destination_address: str
    employer: str
    occupation: str
    destination_since: date
    intends_return_business: bool
    willing_village_cadre: bool
    #: current phone; the destination has it, the origin may still have `origin_phone`
    phone: str
    origin_phone: str
    origin_employer: str
    origin_address: str
    #: the destination clerk's spelling of the name (a homophone now and then)
    destination_name: str
    #: the destination's view of the status (stale for members who went home)
    destination_status: str
    origin_updated_at: datetime
    destination_updated_at: datetime
    #: the system holding this member on each side (None: that side has no system or no record)
    origin_system: str | None
    destination_system: str | None

    @property
    def systems(self) -> tuple[str, ...]:
        return tuple(s for s in (self.origin_system, self.destination_system) if s)


@dataclass(frozen=True, slots=True)
class SystemMember:
    """A person as one system lists them: its own local id, its row number, maybe a defect."""

    person: Person
    system: str
    local_id: str
    ordinal: int  # 1-based position in the system's member list
    defect: Defect | None


@dataclass(frozen=True, slots=True)
class Organization:
    org_id: str
    name: str
    kind: str
    region_code: str
    parent_id: str | None
    secretary: str
    contact_phone: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Activity:
    """An organisation-life activity as the system running it records it.

    `present` counts everyone who attended, on site or online (实到, as in 应到46 实到39 请假7);
    `online_count` is the online part of it; expected = present + excused + absent.
    """

    local_id: str
    system: str
    org_id: str
    kind: str
    title: str
    start_time: datetime
    online: bool
    expected: int
    present: int
    excused: int
    online_count: int
    guests: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Attendance:
    local_id: str
    system: str
    activity_id: str
    member_local_id: str
    id_number: str
    mode: str  # present | online | excused | absent
