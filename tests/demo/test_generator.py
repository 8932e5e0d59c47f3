"""The synthetic world: valid unique ID numbers, determinism, cross-system consistency,
planted defects, and streaming at a million members."""

from __future__ import annotations

import itertools
import tracemalloc
import types
from collections import Counter

from connectors.idcard import has_valid_check_digit
from hub.demo import Defect, World, generate_world
from hub.demo.model import ORIGIN_SYSTEMS, SYSTEMS
from hub.demo.places import COUNTIES, ORG_BY_ID, YONGSHUI_VILLAGE


def test_id_numbers_are_valid_unique_and_describe_the_person() -> None:
    people = list(generate_world(5000, seed=3).members())
    assert len({p.id_number for p in people}) == 5000
    counties = {c.code for c in COUNTIES}
    for p in people:
        assert has_valid_check_digit(p.id_number), p.id_number
        assert p.id_number[:6] == p.origin_region_code in counties
        assert p.id_number[6:14] == f"{p.birth_date:%Y%m%d}"
        assert (int(p.id_number[16]) % 2 == 1) == (p.gender == "male")
        assert 1955 <= p.birth_date.year <= 2000
        assert len(p.phone) == 11 and p.phone[0] == "1" and p.phone[1] in "3456789"
    assert any(p.id_number.endswith("X") for p in people)


def test_same_seed_same_world_other_seed_other_world() -> None:
    first = list(itertools.islice(generate_world(1000, seed=5).members(), 50))
    again = list(itertools.islice(generate_world(1000, seed=5).members(), 50))
    other = list(itertools.islice(generate_world(1000, seed=6).members(), 50))
    assert first == again
    assert [p.id_number for p in first] != [p.id_number for p in other]


def test_people_are_shared_across_systems_under_different_local_ids(world: World) -> None:
    rows = {s: {m.person.index: m for m in world.members_in(s)} for s in SYSTEMS}
    both = [(o, d, i) for o in ORIGIN_SYSTEMS for d in ("chengdu", "zhejiang")
            for i in rows[o].keys() & rows[d].keys()]
    assert len(both) > 50
    for origin, destination, index in both:
        a, b = rows[origin][index], rows[destination][index]
        assert a.person.id_number == b.person.id_number
        assert a.local_id != b.local_id
    people = [rows[o][i].person for o, _, i in both]
    newer_phone = [p for p in people if p.phone != p.origin_phone]
    assert newer_phone and all(p.destination_updated_at > p.origin_updated_at for p in newer_phone)
    assert any(p.employer != p.origin_employer for p in people)
    # one side only, both ways
    only_origin = [p for p in world.members() if p.origin_system and not p.destination_system]
    only_dest = [p for p in world.members() if p.destination_system and not p.origin_system]
    assert only_origin and only_dest


def test_systems_hold_the_right_people(world: World) -> None:
    for m in world.members_in("village_ledger"):
        assert m.person.origin_org_id == YONGSHUI_VILLAGE
    for m in world.members_in("county"):
        assert m.person.origin_region_code == "511502"
    for m in world.members_in("chengdu"):
        assert m.person.destination_region_code.startswith("5101")
    for m in world.members_in("zhejiang"):
        assert m.person.destination_region_code.startswith("33")
        assert ORG_BY_ID[m.person.destination_org_id].region_code.startswith("33")


def test_bad_rows_are_planted_and_recorded(world: World) -> None:
    bad = world.bad_rows()
    assert Counter(b.system for b in bad) == {s: 4 for s in SYSTEMS}
    for system in SYSTEMS:
        planted = {m.local_id: m.defect for m in world.members_in(system) if m.defect}
        assert {b.local_id: Defect(b.code) for b in world.bad_rows(system)} == planted
        assert set(planted.values()) == set(Defect)


def test_activity_summaries_equal_their_attendance(world: World) -> None:
    for system in ("chengdu", "zhejiang", "county"):
        activities = world.activities(system)
        assert activities
        modes: dict[str, Counter[str]] = {}
        for row in world.attendance(system):
            modes.setdefault(row.activity_id, Counter())[row.mode] += 1
        for a in activities:
            c = modes.get(a.local_id, Counter())
            assert a.expected == sum(c.values())
            assert a.present == c["present"] + c["online"] and a.online_count == c["online"]
            assert a.excused == c["excused"]
            if not a.online:
                assert a.online_count == 0
    kinds = {a.kind for a in world.activities("chengdu")}
    assert {"themed_party_day", "organization_life_meeting", "democratic_review",
            "party_lecture", "volunteer_service", "training"} <= kinds


def test_a_million_members_stream_without_materialising() -> None:
    big = generate_world(1_000_000, seed=7)
    stream = big.members()
    assert isinstance(stream, types.GeneratorType)
    tracemalloc.start()
    try:
        count = sum(1 for _ in itertools.islice(stream, 5_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 5_000
    assert peak < 2_000_000, f"peak {peak} bytes: people are being kept"
    more = sum(1 for _ in itertools.islice(stream, 45_000))
    assert more == 45_000  # its rate is bench/gen_scale.py's to measure, not a test's
