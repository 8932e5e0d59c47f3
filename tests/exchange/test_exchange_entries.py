"""`exchangeEntries`: scoped by party and contracts, paged both ways, filters checked."""

from __future__ import annotations

from typing import Any

from tests.api.trusted import Trusted
from tests.exchange.test_ledger_guard import check_in, codes

ENTRIES = """query($f: ExchangeEntryFilter, $first: Int, $after: String, $last: Int,
                  $before: String) {
  exchangeEntries(filter: $f, first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { number action memberKey party organizations payload member { key } } } }"""


async def entries(t: Trusted, party: str, **variables: Any) -> dict[str, Any]:
    body = await t.gql(ENTRIES, variables, party=party)
    assert "errors" not in body, body
    return body["data"]["exchangeEntries"]


async def test_parties_see_their_own_and_their_contracts_members(served: Trusted) -> None:
    for i in range(3):
        await check_in(served, member=i, key=f"e{i}")
    mine = await entries(served, "wenjiang")
    assert mine["totalCount"] == 3
    assert [n["number"] for n in mine["nodes"]] == sorted(n["number"] for n in mine["nodes"])
    # 泸县 (origin) sees check-ins of its members under the two-party contract
    origin = await entries(served, "luxian")
    assert origin["totalCount"] == 3
    assert {n["memberKey"] for n in origin["nodes"]} == set(served.world.keys[:3])
    # 德阳 covers none of these members and made none of the entries
    assert (await entries(served, "deyang"))["totalCount"] == 0


async def test_pages_forward_and_backward(served: Trusted) -> None:
    for i in range(5):
        await check_in(served, member=i, key=f"p{i}")
    first = await entries(served, "wenjiang", first=2)
    numbers = [n["number"] for n in first["nodes"]]
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    second = await entries(served, "wenjiang", first=2, after=first["pageInfo"]["endCursor"])
    numbers += [n["number"] for n in second["nodes"]]
    newest = await entries(served, "wenjiang", last=2)
    assert newest["pageInfo"]["hasPreviousPage"] and not newest["pageInfo"]["hasNextPage"]
    before = await entries(served, "wenjiang", last=2,
                           before=newest["pageInfo"]["startCursor"])
    assert [n["number"] for n in before["nodes"]] + [n["number"] for n in newest["nodes"]] \
        == sorted([*numbers, max(n["number"] for n in newest["nodes"])])[1:]
    assert len(numbers) == 4 and numbers == sorted(numbers)


async def test_filters(served: Trusted) -> None:
    await check_in(served, member=0, key="f0")
    await check_in(served, member=1, key="f1")
    key = served.world.keys[1]
    by_member = await entries(served, "wenjiang", f={"memberKey": key})
    assert [n["memberKey"] for n in by_member["nodes"]] == [key]
    by_org = await entries(served, "wenjiang", f={"organization": "WJ-YQ",
                                                  "actions": ["checkin"]})
    assert by_org["totalCount"] == 2
    assert (await entries(served, "wenjiang", f={"party": "luxian"}))["totalCount"] == 0


async def test_bad_arguments_are_refused(served: Trusted) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"f": {"actions": ["nosuch"]}}, "BAD_USER_INPUT"),
        ({"f": {"memberKey": "not-a-key"}}, "BAD_USER_INPUT"),
        ({"f": {"organization": "WJ%"}}, "BAD_USER_INPUT"),
        ({"first": 1, "last": 1}, "BAD_REQUEST"),
        ({"after": "bm90IGEgY3Vyc29y"}, "BAD_REQUEST"),
        ({"last": 100000}, "LIMIT_EXCEEDED"),
    ]
    for variables, code in cases:
        body = await served.gql(ENTRIES, variables, party="wenjiang")
        assert code in codes(body), (variables, body)
