"""Every DateTime the API answers carries an offset (issue 12 §4): `Activity.startTime` came
back as "2024-03-01T10:00:00" from SQLite, which a client must guess the zone of. The store's
`UtcDateTime` (hub.store.base) gives every value back aware, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from hub.store.models import ActivityRow
from tests.api.conftest import World

OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$")


def _datetimes(value: object, path: str = "") -> list[tuple[str, str]]:
    """(path, value) of every string in `value` that looks like a date with a time."""
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _datetimes(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _datetimes(v, f"{path}[{i}]")]
    if isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d", value):
        return [(path, value)]
    return []


async def test_every_datetime_in_answers_carries_an_offset(world: World) -> None:
    body = await world.gql("""{
      activities(first: 5) { nodes { startTime } }
      members(first: 3) { nodes { updatedAt sources { fetchedAt } } }
      sources(ping: true) { name health { checkedAt } sync { finishedAt } breaker { openedAt } }
    }""")
    assert "errors" not in body, body
    found = _datetimes(body["data"])
    assert any(".startTime" in path for path, _ in found)
    assert any(".updatedAt" in path for path, _ in found)
    assert any(".fetchedAt" in path for path, _ in found)
    for path, value in found:
        assert OFFSET.match(value), f"{path} = {value!r} has no offset"


async def test_a_time_with_another_offset_is_stored_as_the_same_instant(world: World) -> None:
    """A +08:00 value written to the store is read back as the same instant in UTC (SQLite
    used to keep its wall-clock digits and drop the zone: 8 hours off)."""
    beijing = datetime(2024, 3, 1, 18, 0, tzinfo=timezone(timedelta(hours=8)))
    async with world.runtime.session_factory() as session:
        row = await session.scalar(select(ActivityRow).where(ActivityRow.key == "city:a1"))
        assert row is not None
        row.start_time = beijing
        await session.commit()
    async with world.runtime.session_factory() as session:
        stored = await session.scalar(
            select(ActivityRow.start_time).where(ActivityRow.key == "city:a1"))
    assert stored == beijing and stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    body = await world.gql("{ activities(first: 1) { nodes { startTime } } }")
    assert body["data"]["activities"]["nodes"][0]["startTime"] == "2024-03-01T10:00:00+00:00"
    # the filter compares instants too: since 09:59 UTC finds it, since 10:01 UTC does not
    for since, count in (("2024-03-01T17:59:00+08:00", 1), ("2024-03-01T10:01:00Z", 0)):
        found = await world.gql("query($s: DateTime) { activities(filter: {since: $s}) "
                                "{ totalCount } }", {"s": since})
        assert found["data"]["activities"]["totalCount"] == count, (since, found)
    assert datetime(2024, 3, 1, 10, tzinfo=UTC) == stored
