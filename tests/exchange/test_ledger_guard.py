"""The exchange ledger's guard, idempotency and audit, through `recordCheckIn` over real HTTP
with the parties' tokens (温江 destination records check-ins; 泸县 origin may not; 德阳 sees
nobody here)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.trusted import Trusted
from tests.exchange.conftest import audit_bodies, ledger_rows

CHECK_IN = """mutation($k: ID!, $o: ID!, $note: String, $key: String) {
  recordCheckIn(memberKey: $k, organization: $o, note: $note, idempotencyKey: $key) {
    replayed entry { number action memberKey organizations party recordedAt payload
                     contractDigests }
    member { key } organization { code name } } }"""


def codes(body: dict[str, Any]) -> set[str]:
    return {e["extensions"]["code"] for e in body.get("errors", [])}


async def check_in(t: Trusted, party: str = "wenjiang", *, org: str = "WJ-YQ",
                   note: str | None = "扫码报到", key: str | None = None,
                   member: int = 0) -> dict[str, Any]:
    return await t.gql(CHECK_IN, {"k": t.world.keys[member], "o": org, "note": note,
                                  "key": key}, party=party)


async def test_allowed_check_in_returns_the_entry_and_the_nodes(served: Trusted) -> None:
    body = await check_in(served)
    assert "errors" not in body, body
    receipt = body["data"]["recordCheckIn"]
    entry = receipt["entry"]
    assert receipt["replayed"] is False
    assert entry["action"] == "checkin" and entry["party"] == "wenjiang"
    assert entry["memberKey"] == served.world.keys[0]
    assert entry["organizations"] == ["WJ-YQ"] and entry["payload"] == {"note": "扫码报到"}
    assert len(entry["contractDigests"]) == 2
    assert receipt["member"] == {"key": served.world.keys[0]}
    assert receipt["organization"]["code"] == "WJ-YQ"
    rows = await ledger_rows(served)
    assert [(r.id, r.action, r.party) for r in rows] == [(entry["number"], "checkin",
                                                         "wenjiang")]


async def test_each_entry_has_its_own_audit_decision(served: Trusted) -> None:
    body = await check_in(served)
    number = body["data"]["recordCheckIn"]["entry"]["number"]
    bodies = await audit_bodies(served)
    mine = [b for b in bodies if b.get("entry") == number]
    assert len(mine) == 1
    assert mine[0]["action"] == "checkin" and mine[0]["decision"] == "allowed"
    assert mine[0]["members"] == [served.world.keys[0]]
    assert mine[0]["allowed"] == ["Mutation.recordCheckIn"] and len(mine[0]["contracts"]) == 2
    # the request's own entry follows it, as for any operation
    assert bodies[-1].get("entry") is None and bodies[-1]["party"] == "wenjiang"


async def test_denials_are_contract_denied_audited_and_write_nothing(served: Trusted) -> None:
    no_permission = await check_in(served, "luxian", org="LX-YS")  # origin: no `checkin`
    assert codes(no_permission) == {"CONTRACT_DENIED"}
    assert no_permission["errors"][0]["extensions"]["fields"] == ["Mutation.recordCheckIn"]
    wrong_org = await check_in(served, "wenjiang", org="LX-YS")  # 泸县's branch, not named
    assert codes(wrong_org) == {"CONTRACT_DENIED"}
    assert "LX-YS" in wrong_org["errors"][0]["message"]
    out_of_scope = await check_in(served, "deyang", org="WJ-YQ")  # nobody of 德阳's here
    assert codes(out_of_scope) == {"NOT_FOUND"}
    unknown_org = await check_in(served, "wenjiang", org="NO-SUCH")
    assert codes(unknown_org) == {"NOT_FOUND"}
    assert await ledger_rows(served) == []
    bodies = await audit_bodies(served)
    assert [b["decision"] for b in bodies[-4:]] == ["denied"] * 4
    assert all("Mutation.recordCheckIn" in b["denied"] for b in bodies[-4:-2])


async def test_bad_payloads_are_bad_user_input_and_write_nothing(served: Trusted) -> None:
    too_long = await check_in(served, note="很" * 501)
    assert codes(too_long) == {"BAD_USER_INPUT"}
    assert "note" in too_long["errors"][0]["message"]
    control = await check_in(served, note="bell\x07")
    assert codes(control) == {"BAD_USER_INPUT"}
    long_key = await check_in(served, key="k" * 129)
    assert codes(long_key) == {"BAD_USER_INPUT"}
    assert "idempotencyKey" in long_key["errors"][0]["message"]
    bad_org = await check_in(served, org="WJ%")
    assert codes(bad_org) == {"BAD_USER_INPUT"}
    assert await ledger_rows(served) == []
    assert not [b for b in await audit_bodies(served) if "entry" in b]


async def test_retries_with_one_key_record_once(served: Trusted) -> None:
    first, second, third = [await check_in(served, key="retry-1") for _ in range(3)]
    numbers = {b["data"]["recordCheckIn"]["entry"]["number"] for b in (first, second, third)}
    assert len(numbers) == 1
    assert [b["data"]["recordCheckIn"]["replayed"] for b in (first, second, third)] == \
        [False, True, True]
    assert len(await ledger_rows(served)) == 1
    assert len([b for b in await audit_bodies(served) if "entry" in b]) == 1


async def test_the_same_key_with_other_input_is_a_conflict(served: Trusted) -> None:
    await check_in(served, key="k-1", note="第一次")
    other = await check_in(served, key="k-1", note="第二次")
    assert codes(other) == {"IDEMPOTENCY_CONFLICT"} and other["data"] is None
    other_member = await check_in(served, key="k-1", note="第一次", member=1)
    assert codes(other_member) == {"IDEMPOTENCY_CONFLICT"}
    assert len(await ledger_rows(served)) == 1


async def test_keys_are_per_party(served: Trusted) -> None:
    """Another party's key never replays (or conflicts with) this party's entry."""
    await check_in(served, key="shared")
    denied = await check_in(served, "luxian", org="LX-YS", key="shared")
    assert codes(denied) == {"CONTRACT_DENIED"}


async def test_the_idempotency_key_header(served: Trusted) -> None:
    variables = {"k": served.world.keys[2], "o": "WJ-YQ", "note": None, "key": None}
    answers = []
    for _ in range(2):
        response = await served.world.client.post(
            "/graphql", json={"query": CHECK_IN, "variables": variables},
            headers={"Authorization": f"Bearer {served.demo.token_for('wenjiang')}",
                     "Idempotency-Key": "hdr-1"})
        answers.append(response.json()["data"]["recordCheckIn"])
    assert answers[0]["entry"]["number"] == answers[1]["entry"]["number"]
    assert answers[1]["replayed"] is True
    assert [r.idempotency_key for r in await ledger_rows(served)] == ["hdr-1"]


async def test_concurrent_duplicates_make_one_entry(served: Trusted) -> None:
    bodies = await asyncio.gather(*(check_in(served, key="same-time") for _ in range(8)))
    assert all("errors" not in b for b in bodies), bodies
    numbers = {b["data"]["recordCheckIn"]["entry"]["number"] for b in bodies}
    assert len(numbers) == 1
    assert sorted(b["data"]["recordCheckIn"]["replayed"] for b in bodies) == [False] + [True] * 7
    assert len(await ledger_rows(served)) == 1
    assert len([b for b in await audit_bodies(served) if "entry" in b]) == 1


async def test_concurrent_different_keys_all_record(served: Trusted) -> None:
    bodies = await asyncio.gather(*(check_in(served, key=f"many-{i}", member=i)
                                    for i in range(6)))
    assert all("errors" not in b for b in bodies), bodies
    assert len(await ledger_rows(served)) == 6
    entries = sorted(b["entry"] for b in await audit_bodies(served) if "entry" in b)
    assert entries == sorted(r.id for r in await ledger_rows(served))


CORRECT = """mutation($k: ID!, $note: String, $s: Int) {
  recordCheckIn(memberKey: $k, organization: "WJ-YQ", note: $note, supersedes: $s) {
    entry { number supersedes payload } } }"""


async def test_a_correction_is_a_new_entry_that_supersedes(served: Trusted) -> None:
    first = (await check_in(served, note="初稿"))["data"]["recordCheckIn"]["entry"]["number"]
    key = served.world.keys[0]
    fixed = await served.gql(CORRECT, {"k": key, "note": "更正", "s": first}, party="wenjiang")
    entry = fixed["data"]["recordCheckIn"]["entry"]
    assert entry["supersedes"] == first and entry["payload"] == {"note": "更正"}
    rows = await ledger_rows(served)
    assert [r.payload for r in rows] == ['{"note":"初稿"}', '{"note":"更正"}']  # never edited
    again = await served.gql(CORRECT, {"k": key, "note": "再改", "s": first}, party="wenjiang")
    assert codes(again) == {"BAD_USER_INPUT"} and "already corrected" in \
        again["errors"][0]["message"]
    other_member = await served.gql(CORRECT, {"k": served.world.keys[1], "note": "x",
                                              "s": entry["number"]}, party="wenjiang")
    assert codes(other_member) == {"BAD_USER_INPUT"}
    missing = await served.gql(CORRECT, {"k": key, "note": "x", "s": 9999}, party="wenjiang")
    assert codes(missing) == {"BAD_USER_INPUT"}
    assert len(await ledger_rows(served)) == 2


def test_every_mutation_is_a_guarded_ledger_action() -> None:
    """No mutation bypasses the one guard (contracts, organisation, idempotency, audit)."""
    from hub.api.schema import published_schema
    from hub.exchange import ACTIONS

    mutation = published_schema().get_type_by_name("Mutation")
    assert mutation is not None
    fields = mutation.fields  # type: ignore[union-attr]
    assert {f.python_name for f in fields} >= {
        "record_check_in", "issue_check_in_code", "submit_report", "confirm_report"}
    for f in fields:
        resolver = f.base_resolver
        action = getattr(resolver.wrapped_func if resolver else None, "__ledger_action__", None)
        assert action in ACTIONS, f"Mutation.{f.python_name} is not a @ledger_action"
        names = {a.python_name for a in f.arguments}
        assert {"idempotency_key", "supersedes"} <= names, f.python_name


async def test_no_entry_without_its_audit_entry(served: Trusted) -> None:
    """The audit log cannot be written: the check-in is not recorded either (503)."""
    from sqlalchemy import text

    engine = served.world.runtime.engine
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_entries RENAME TO audit_entries_gone"))
    try:
        response = await served.post(CHECK_IN, {"k": served.world.keys[0], "o": "WJ-YQ",
                                                "note": None, "key": "no-audit"},
                                     party="wenjiang")
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE audit_entries_gone RENAME TO audit_entries"))
    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE"
    assert await ledger_rows(served) == []
    retry = await check_in(served, note=None, key="no-audit")  # the same key, once it is back
    assert retry["data"]["recordCheckIn"]["replayed"] is False
    assert len(await ledger_rows(served)) == 1
