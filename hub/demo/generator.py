"""A deterministic synthetic world of floating party members, streamed, never all in memory.

`generate_world(members, seed)` returns a `World` description; its methods return fresh
iterators that regenerate the same people in the same order every time, so a million-member
world costs memory for one person at a time. Two design points make that possible:

- ID numbers are unique by construction, not by remembering the ones already used: person *i*
  maps through a bijection (an affine permutation modulo the size of the birth-date x sequence
  space) to a distinct (birth date, sequence) pair.
- A system's local ids derive from the person's index, and deliberate defects are planted at
  fixed positions of each system's list (`DEFECT_AT`), so both are known without a lookup table.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import TypeVar

from hub.demo import _names
from hub.demo._activities import (
    activities_with_counts,
    attendance_rows,
    org_system_lists,
    organization,
)
from hub.demo._idcard import make_id_number
from hub.demo.model import (
    DEFECT_FIELD,
    SYSTEMS,
    Activity,
    Attendance,
    BadRow,
    Defect,
    Organization,
    Person,
    SystemMember,
)
from hub.demo.places import COUNTIES, DESTINATIONS, ORGS, YONGSHUI_VILLAGE, Destination

__all__ = ["World", "generate_world", "DEFECT_AT", "REFERENCE_TIME"]

#: "Now" in the demo world: every generated timestamp is before it, so runs are reproducible.
REFERENCE_TIME = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)

#: Position in a system's member list (modulo 1000, 1-based) -> the defect planted there.
DEFECT_AT: dict[int, Defect] = {
    3: Defect.INVALID_ID_NUMBER,
    8: Defect.INVALID_DATE,
    13: Defect.UNKNOWN_CODE,
    21: Defect.MISSING_VALUE,
}

_BIRTH_FIRST = date(1955, 1, 1)
_BIRTH_DAYS = (date(2000, 12, 31) - _BIRTH_FIRST).days + 1
_ID_SPACE = _BIRTH_DAYS * 500  # (birth day, sequence // 2); the last sequence bit is the gender
_MAX_MEMBERS = _ID_SPACE
_T0 = datetime(2023, 1, 1, tzinfo=UTC)
_ORIGIN_UPDATED_SPAN = int((datetime(2024, 3, 31, tzinfo=UTC) - _T0).total_seconds())
_RECENT_T0 = datetime(2024, 4, 1, tzinfo=UTC)
_RECENT_SPAN = int((REFERENCE_TIME - _RECENT_T0).total_seconds())
_ANY_SPAN = int((REFERENCE_TIME - _T0).total_seconds())

_STATUSES = ("in_contact", "lost_contact", "returned", "transferred_out")
_STATUS_CUM = tuple(accumulate((0.86, 0.05, 0.06, 0.03)))
_COUNTY_CUM = tuple(accumulate(c.weight for c in COUNTIES))
_DEST_CUM = tuple(accumulate(d.weight for d in DESTINATIONS))
_SURNAME_CUM = tuple(accumulate(_names.SURNAME_WEIGHTS))

_VILLAGES: dict[str, tuple[str, ...]] = {
    c.code: tuple(o.org_id for o in ORGS if o.region_code == c.code and o.kind == "origin_branch")
    for c in COUNTIES
}
#: 涌水村 is the biggest village of 泸县 in the demo, so its ledger has a few hundred rows
_VILLAGE_CUM: dict[str, tuple[float, ...]] = {
    code: tuple(accumulate(2.0 if v == YONGSHUI_VILLAGE else 1.0 for v in villages))
    for code, villages in _VILLAGES.items()
}
_DEST_BRANCHES: dict[str, tuple[str, ...]] = {
    d.code: tuple(
        o.org_id for o in ORGS if o.region_code == d.code and o.kind == "destination_branch"
    )
    for d in DESTINATIONS
}
#: floating-member branches an origin county runs in a destination city: (origin, dest) -> org
_FLOATING: dict[tuple[str, str], str] = {
    ("510521", "441900"): "510521F001",
    ("511502", "440300"): "511502F001",
    ("511502", "510115"): "511502F002",
}
_LOCAL_ID_MOD = 100_000_000

T = TypeVar("T")


def _pick(rng: random.Random, items: Sequence[T], cum: Sequence[float]) -> T:
    return items[bisect(cum, rng.random() * cum[-1])]


def local_id_for(system: str, person: Person, ordinal: int) -> str:
    """Each system numbers people its own way; none of them uses the ID number as its key."""
    i = person.index
    if system == "chengdu":
        return f"rc{(i * 7919 + 1301) % _LOCAL_ID_MOD:08d}"
    if system == "zhejiang":
        return f"{330000000000 + (i * 104729 + 17) % 1_000_000_000}"
    if system == "village_ledger":
        return f"YS{ordinal:05d}"
    if system == "county":
        return f"XZ{(i * 31 + 5) % 1_000_000_000:09d}"
    raise ValueError(f"unknown system {system!r}")


class World:
    """A seeded world of `size` members; every method streams or returns small lists."""

    def __init__(self, size: int = 2000, seed: int = 7) -> None:
        if not 0 < size <= _MAX_MEMBERS:
            raise ValueError(f"members must be between 1 and {_MAX_MEMBERS}")
        self.size = size
        self.seed = seed
        rng = random.Random(f"yanxing-ids:{seed}")
        self._id_step = rng.randrange(_ID_SPACE // 3, _ID_SPACE)
        while math.gcd(self._id_step, _ID_SPACE) != 1:
            self._id_step += 1
        self._id_offset = rng.randrange(_ID_SPACE)
        self._activities: dict[str, list[Activity]] = {}

    def __repr__(self) -> str:
        return f"World(members={self.size}, seed={self.seed})"

    # -- people ---------------------------------------------------------------------------

    def members(self) -> Iterator[Person]:
        """Every person, in index order, regenerated on each call."""
        rng = random.Random(self.seed)
        for index in range(self.size):
            yield self._person(index, rng)

    def _person(self, index: int, rng: random.Random) -> Person:
        rand = rng.random

        def choice(items: tuple[str, ...]) -> str:
            return items[int(rand() * len(items))]

        point = (index * self._id_step + self._id_offset) % _ID_SPACE
        birth = _BIRTH_FIRST + timedelta(days=point // 500)
        male = rand() < 0.62
        sequence = (point % 500) * 2 + (1 if male else 0)
        county = _pick(rng, COUNTIES, _COUNTY_CUM)
        dest: Destination = _pick(rng, DESTINATIONS, _DEST_CUM)
        id_number = make_id_number(county.code, birth, sequence)

        surname = _pick(rng, _names.SURNAMES, _SURNAME_CUM)
        pool = _names.GIVEN_MALE if male else _names.GIVEN_FEMALE
        given = choice(pool) + (choice(pool) if rand() < 0.7 else "")
        name = surname + given
        destination_name = name
        if rand() < 0.02 and given[-1] in _names.HOMOPHONES:
            destination_name = name[:-1] + _names.HOMOPHONES[given[-1]]

        status = _pick(rng, _STATUSES, _STATUS_CUM)
        destination_status = status
        if status in ("returned", "lost_contact") and rand() < 0.7:
            destination_status = "in_contact"  # the destination has not heard yet

        villages = _VILLAGES[county.code]
        origin_org_id = _pick(rng, villages, _VILLAGE_CUM[county.code])
        floating = _FLOATING.get((county.code, dest.code))
        if floating and (dest.code != "510115" or rand() < 0.5):
            destination_org_id = floating
        else:
            destination_org_id = choice(_DEST_BRANCHES[dest.code])

        street = choice(dest.streets)
        address = f"{dest.full_name}{street}{1 + int(rand() * 999)}号{1 + int(rand() * 30)}栋"
        employer = f"{dest.city[:-1]}{choice(_names.EMPLOYER_WORDS)}" + choice(
            _names.EMPLOYER_SUFFIXES
        )
        occupation = choice(_names.OCCUPATIONS)
        phone = choice(_names.PHONE_PREFIXES) + f"{int(rand() * 100_000_000):08d}"
        moved_job = rand() < 0.15
        new_phone = rand() < 0.12
        origin_phone = (
            choice(_names.PHONE_PREFIXES) + f"{int(rand() * 100_000_000):08d}"
            if new_phone else phone
        )
        if moved_job:
            origin_employer = f"{dest.city[:-1]}{choice(_names.EMPLOYER_WORDS)}" + choice(
                _names.EMPLOYER_SUFFIXES
            )
            origin_address = f"{dest.full_name}{choice(dest.streets)}"
        else:
            origin_employer, origin_address = employer, address

        first_year = max(birth.year + 18, 2005)
        since_year = first_year + int(rand() * (2025 - first_year))
        since = date(since_year, 1 + int(rand() * (3 if since_year == 2024 else 12)), 1)

        origin_updated = _T0 + timedelta(seconds=int(rand() * _ORIGIN_UPDATED_SPAN))
        if moved_job or new_phone:
            dest_updated = _RECENT_T0 + timedelta(seconds=int(rand() * _RECENT_SPAN))
        else:
            dest_updated = _T0 + timedelta(seconds=int(rand() * _ANY_SPAN))

        origin_system: str | None = None
        if rand() < 0.93:  # a few have not been entered by their origin yet
            if origin_org_id == YONGSHUI_VILLAGE:
                origin_system = "village_ledger"
            elif county.code == "511502":
                origin_system = "county"
        destination_system: str | None = None
        registered = 0.45 if status == "lost_contact" else 0.9  # not yet found (摸排)
        if dest.platform and rand() < registered:
            destination_system = dest.platform

        return Person(
            index=index,
            id_number=id_number,
            name=name,
            gender="male" if male else "female",
            birth_date=birth,
            status=status,
            origin_region_code=county.code,
            origin_org_id=origin_org_id,
            destination_region_code=dest.code,
            destination_org_id=destination_org_id,
            destination_address=address,
            employer=employer,
            occupation=occupation,
            destination_since=since,
            intends_return_business=rand() < 0.18,
            willing_village_cadre=rand() < 0.12,
            phone=phone,
            origin_phone=origin_phone,
            origin_employer=origin_employer,
            origin_address=origin_address,
            destination_name=destination_name,
            destination_status=destination_status,
            origin_updated_at=origin_updated,
            destination_updated_at=dest_updated,
            origin_system=origin_system,
            destination_system=destination_system,
        )

    def members_in(self, system: str) -> Iterator[SystemMember]:
        """The members one system lists, in its order, with local ids and planted defects."""
        if system not in SYSTEMS:
            raise ValueError(f"unknown system {system!r}; one of {', '.join(SYSTEMS)}")
        ordinal = 0
        for person in self.members():
            if system not in (person.origin_system, person.destination_system):
                continue
            ordinal += 1
            yield SystemMember(
                person=person,
                system=system,
                local_id=local_id_for(system, person, ordinal),
                ordinal=ordinal,
                defect=DEFECT_AT.get(ordinal % 1000),
            )

    def bad_rows(self, system: str | None = None) -> list[BadRow]:
        """Every planted defect (of one system, or of all four)."""
        systems = SYSTEMS if system is None else (system,)
        return [
            BadRow(s, m.local_id, DEFECT_FIELD[m.defect], m.defect.value)
            for s in systems
            for m in self.members_in(s)
            if m.defect is not None
        ]

    # -- organisations and organisation life ------------------------------------------------

    def organizations(self, system: str | None = None) -> list[Organization]:
        """Organisations with secretaries; `system` limits them to those that system lists."""
        return [
            organization(spec, self.seed)
            for spec in ORGS
            if system is None or org_system_lists(system, spec)
        ]

    def activities(self, system: str) -> list[Activity]:
        """Activities run by branches this system serves, with attendance summed up.

        Needs one pass over the system's members (to count who was expected and who came),
        so the result is cached.
        """
        if system not in self._activities:
            self._activities[system] = activities_with_counts(self, system)
        return self._activities[system]

    def attendance(self, system: str) -> Iterator[Attendance]:
        """One row per (activity, member expected at it), streamed."""
        return attendance_rows(self, system)


def generate_world(members: int = 2000, seed: int = 7) -> World:
    """The demo world: `members` people, the same ones for the same seed, on every machine."""
    return World(members, seed)
