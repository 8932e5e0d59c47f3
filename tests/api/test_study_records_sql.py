"""`Member.studyRecords` / `studyHours` over the index on SQLite and PostgreSQL (the `engine`
fixture): paging, counts and yearly sums in SQL, under the API tests' signed contracts
(tests/api/trusted.py: county owned by 泸县, city by 温江, 德阳 owns nothing)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.base import Record
from hub.federation.ingest import write_study_records
from tests.api.conftest import id_number
from tests.api.trusted import Trusted

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def _records() -> list[Record]:
    """Members 0 and 1 of the world studied on the county's system: 0 five courses over two
    years, 1 one course; one record has an ID number that is not one (kept unlinked)."""
    rows: list[tuple[int, int, float, datetime, float | None]] = [
        (0, k, 1.5 + k, datetime(2023 + k % 2, 3, 1 + k, 8, tzinfo=UTC), 90.0 - k)
        for k in range(5)]
    rows.append((1, 0, 2.0, datetime(2024, 12, 31, 23, 30, tzinfo=UTC), None))
    out = [Record("county", "study_record", f"s{i}-{k}",
                  {"member_id_number": id_number(i), "course": f"课程{k}", "platform": "学习强国",
                   "hours": hours, "completed_at": done, "score": score}, NOW)
           for i, k, hours, done, score in rows]
    out.append(Record("county", "study_record", "orphan",
                      {"member_id_number": "51052119900101000", "course": "x",
                       "hours": 1.0}, NOW))
    return out


async def _index(t: Trusted, secret: bytes) -> None:
    async with t.world.runtime.session_factory() as session, session.begin():
        outcome = await write_study_records(session, _records(), secret=secret, now=NOW)
    assert (outcome.records, outcome.linked, outcome.unlinked) == (7, 6, 1)


QUERY = """query($key: ID!, $after: String) { member(key: $key) {
  studyRecords(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    nodes { course hours completedAt score system } }
  y23: studyHours(year: 2023) y24: studyHours(year: 2024) y22: studyHours(year: 2022) } }"""


async def _member(t: Trusted, party: str, key: str, after: str | None = None) -> Any:
    body = await t.gql(QUERY, {"key": key, "after": after}, party=party)
    assert "errors" not in body, body
    return body["data"]["member"]


async def test_the_owner_pages_through_its_study_records(trusted: Trusted,
                                                         secret: bytes) -> None:
    await _index(trusted, secret)
    from hub.federation.identity import member_key

    key = member_key(secret, id_number(0))
    first = await _member(trusted, "luxian", key)
    got = first["studyRecords"]
    assert got["totalCount"] == 5 and got["pageInfo"]["hasNextPage"]
    courses = [n["course"] for n in got["nodes"]]
    after = got["pageInfo"]["endCursor"]
    while after:
        page = (await _member(trusted, "luxian", key, after))["studyRecords"]
        courses += [n["course"] for n in page["nodes"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert courses == ["课程3", "课程1", "课程4", "课程2", "课程0"]  # newest first
    assert got["nodes"][0] == {"course": "课程3", "hours": 4.5,
                               "completedAt": "2024-03-04T08:00:00+00:00", "score": 87.0,
                               "system": "county"}
    assert first["y23"] == 1.5 + 3.5 + 5.5 and first["y24"] == 2.5 + 4.5
    assert first["y22"] is None
    other = await _member(trusted, "luxian", member_key(secret, id_number(1)))
    assert other["y24"] == 2.0 and other["y23"] is None  # 23:30 UTC on 31 Dec is 2024


async def test_another_party_sees_no_ungranted_records_and_deyang_is_refused(
        trusted: Trusted, secret: bytes) -> None:
    from hub.federation.identity import member_key

    await _index(trusted, secret)
    key = member_key(secret, id_number(0))
    seen = await _member(trusted, "wenjiang", key)  # its own city record: no study records
    assert seen["studyRecords"]["totalCount"] == 0 and seen["studyRecords"]["nodes"] == []
    assert seen["y23"] is None and seen["y24"] is None
    body = await trusted.gql(QUERY, {"key": key}, party="deyang")
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["CONTRACT_DENIED"]
    assert "Member.studyRecords" in body["errors"][0]["message"]
