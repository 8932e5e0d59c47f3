"""merge_values is field authority applied to whole records: the same winners as merge_field
per field, whatever the number of sources, their order, timestamps or empty values."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.federation.merge import SourcedValue, merge_field, merge_values
from hub.model import Side

FIELDS = ("name", "status", "employer", "destination_address", "phone", "updated_at")


def _reference(records):
    by_field: dict[str, list[SourcedValue]] = {}
    for source, side, values, updated_at in records:
        for name, value in values.items():
            by_field.setdefault(name, []).append(SourcedValue(source, side, value, updated_at))
    out = {}
    for name, candidates in by_field.items():
        winner = merge_field(name, candidates)
        if winner is not None:
            out[name] = winner
    return out


def test_merge_values_agrees_with_merge_field_on_random_records():
    rng = random.Random(20240601)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for _ in range(2000):
        records = []
        for _ in range(rng.randint(0, 4)):
            source = rng.choice("abcd")  # repeats: two records of one source
            side = rng.choice([Side.ORIGIN, Side.DESTINATION])
            stamp = rng.choice([None, base, base + timedelta(days=1),
                                (base + timedelta(days=1)).replace(tzinfo=None)])
            values = {f: rng.choice([None, "", f"{f}-{source}-{rng.randint(0, 2)}"])
                      for f in rng.sample(FIELDS, rng.randint(0, len(FIELDS)))}
            records.append((source, side, values, stamp))
        assert merge_values(records) == _reference(records)


def test_a_single_record_wins_every_field_it_has():
    stamp = datetime(2024, 1, 1, tzinfo=UTC)
    merged = merge_values(
        [("a", Side.DESTINATION, {"name": "张三", "phone": "", "x": None}, stamp)]
    )
    assert merged == {"name": SourcedValue("a", Side.DESTINATION, "张三", stamp)}


def test_an_auxiliary_source_fills_gaps_but_never_overrides_a_system_of_record():
    old, new = datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)
    records: list[tuple[str, Side, dict[str, Any], datetime | None]] = [
        ("county", Side.ORIGIN, {"name": "张三", "phone": "13800000001", "employer": None}, old),
        ("study", Side.ORIGIN, {"name": "张三同志", "phone": "13900000002",
                                "employer": "某公司", "occupation": "工人"}, new),
        ("chengdu", Side.DESTINATION, {"phone": None, "occupation": "司机"}, old),
    ]
    auxiliary = {"study": frozenset({"name", "phone", "employer", "occupation"})}
    merged = merge_values(records, auxiliary)
    assert (merged["name"].source, merged["phone"].source) == ("county", "county")
    assert merged["employer"].value == "某公司"        # a gap: the auxiliary value fills it
    assert merged["occupation"].value == "司机"        # older, of record, still wins
    # without the authority the newer platform would have won name (same side) and phone
    plain = merge_values(records)
    assert (plain["name"].source, plain["phone"].source) == ("study", "study")
    assert merge_values(records[1:2], auxiliary)["name"].value == "张三同志"  # alone: fills
    # per-field authority: the platform is of record for the phone only
    per_field = {"study": frozenset({"name", "employer", "occupation"})}
    assert merge_values(records, per_field)["phone"].source == "study"


def test_merge_values_with_auxiliary_agrees_with_merge_field():
    rng = random.Random(7)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for _ in range(500):
        records = []
        for source in rng.sample("abcd", rng.randint(1, 4)):
            side = rng.choice([Side.ORIGIN, Side.DESTINATION])
            values = {f: rng.choice([None, f"{f}-{source}"]) for f in FIELDS}
            records.append((source, side, values, base + timedelta(days=rng.randint(0, 3))))
        auxiliary = {s: frozenset(rng.sample(FIELDS, rng.randint(0, 3))) for s in "ab"}
        merged = merge_values(records, auxiliary)
        for name in FIELDS:
            candidates = [SourcedValue(s, side, v.get(name), t) for s, side, v, t in records]
            winner = merge_field(name, candidates, auxiliary)
            assert merged.get(name) == winner


def test_a_member_of_one_link_gets_the_row_the_merge_gives() -> None:
    """member_row's shortcut for one link (every member of a first sync) equals the merge."""
    from hub.federation.member_rows import _merged_row, _single_link_row

    now = datetime(2025, 1, 1, tzinfo=UTC)
    links: list[dict[str, Any]] = [
        {"source": "a", "side": "origin", "source_updated_at": datetime(2024, 5, 1),
         "routing": {"name": "张三", "birth_date": "1990-03", "phone_hash": "", "status": None,
                     "origin_org_id": "510521V001", "unknown": "x"}},
        {"source": "b", "side": None, "source_updated_at": None, "routing": None},
        {"source": "c", "side": "destination",
         "source_updated_at": datetime(2024, 5, 1, tzinfo=UTC),
         "routing": {"birth_date": "1990-03-05", "destination_region_code": "510115"},
         "auxiliary": []},
    ]
    for link in links:
        assert _single_link_row("k", link, now) == _merged_row("k", [link], now)
