"""`accessLog` over real HTTP shows only what is inside the hashed entries: editing the
`party` column or adding `audit_members` rows in the database changes nothing it shows."""

from __future__ import annotations

from sqlalchemy import text

from tests.api.trusted import Trusted

LOG = "query L($k: [ID!]!) { accessLog(memberKeys: $k) { seq party decision memberKeys } }"


async def test_access_log_comes_from_the_hashed_bodies(trusted: Trusted) -> None:
    key = trusted.world.keys[0]
    read = await trusted.gql("query M($k: ID!) { member(key: $k) { name } }", {"k": key},
                             party="wenjiang")
    assert read["data"]["member"] is not None
    await trusted.gql("{ members(first: 1) { totalCount } }", party="deyang")
    first = (await trusted.gql(LOG, {"k": [key]}, party="luxian"))["data"]["accessLog"]
    assert [(e["party"], e["memberKeys"]) for e in first] == [("wenjiang", [key])]
    seq = first[0]["seq"]
    async with trusted.world.runtime.engine.begin() as conn:
        await conn.execute(text("UPDATE audit_entries SET party = 'forged' WHERE seq = :s"),
                           {"s": seq})
        other = (await conn.execute(text(
            "SELECT seq FROM audit_entries WHERE party = 'deyang'"))).scalar_one()
        await conn.execute(text("INSERT INTO audit_members (seq, member_key) VALUES (:s, :k)"),
                           {"s": other, "k": key})
    again = (await trusted.gql(LOG, {"k": [key]}, party="luxian"))["data"]["accessLog"]
    assert [(e["seq"], e["party"]) for e in again] == [(seq, "wenjiang")]
