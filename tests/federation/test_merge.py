"""merge_values is field authority applied to whole records: the same winners as merge_field
per field, whatever the number of sources, their order, timestamps or empty values."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

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
