"""年终发函 over real HTTP with the parties' tokens: 温江 (destination) drafts and signs, 泸县
(origin, holds 涌水村党支部) acknowledges; 德阳 sees none of these members."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from hub.contracts.keys import load_private_key
from hub.contracts.lifecycle import make_revocation
from hub.contracts.model import parse_contract
from hub.exchange.letter_signing import countersign_letter, sign_letter
from hub.jws import parse_general
from tests.api.trusted import Trusted
from tests.exchange.conftest import audit_bodies, ledger_rows

LETTER = """fragment L on EvaluationLetter { number year state memberKey memberName senderParty
  recipientParty recommendation performance text points payload digest pdfUrl supersededBy
  attendance { activities present online byReport excused absent participationRate }
  signature { party kid } acknowledgement { party kid }
  senderOrganization { code } recipientOrganization { code } member { key } }"""
DRAFT = LETTER + """
mutation($k: ID!, $o: ID!, $y: Int!, $r: LetterRecommendation!, $p: String!, $t: String,
         $s: Int, $key: String) {
  draftEvaluationLetter(memberKey: $k, organization: $o, year: $y, recommendation: $r,
                        performance: $p, text: $t, supersedes: $s, idempotencyKey: $key) {
    replayed entry { number action party organizations supersedes } letter { ...L } } }"""
SIGN = LETTER + """
mutation($n: Int!, $e: JSON!, $key: String) {
  signEvaluationLetter(letter: $n, envelope: $e, idempotencyKey: $key) {
    replayed entry { number action answers party } letter { ...L } } }"""
ACK = LETTER + """
mutation($n: Int!, $e: JSON!, $key: String) {
  acknowledgeEvaluationLetter(letter: $n, envelope: $e, idempotencyKey: $key) {
    replayed entry { number action answers party organizations } letter { ...L } } }"""
LIST = LETTER + """
query($f: EvaluationLetterFilter, $first: Int, $after: String, $last: Int, $before: String) {
  evaluationLetters(filter: $f, first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { ...L } } }"""


def codes(body: dict[str, Any]) -> set[str]:
    return {e["extensions"]["code"] for e in body.get("errors", [])}


def key_of(t: Trusted, party: str) -> tuple[Any, str]:
    kid, path = t.demo.party_keys[party]
    return load_private_key(path), kid


async def draft(t: Trusted, party: str = "wenjiang", *, member: int = 0, org: str = "WJ-YQ",
                year: int = 2025, rec: str = "COMMEND", perf: str = "积极参加社区志愿服务",
                text_: str | None = "无", supersedes: int | None = None,
                key: str | None = None) -> dict[str, Any]:
    return await t.gql(DRAFT, {"k": t.world.keys[member], "o": org, "y": year, "r": rec,
                               "p": perf, "t": text_, "s": supersedes, "key": key},
                       party=party)


def payload_of(letter: dict[str, Any]) -> Any:
    """The document the parties sign, decoded from the letter's `payload`."""
    return parse_general({"payload": letter["payload"], "signatures": []}).payload


async def drafted(t: Trusted, **kwargs: Any) -> dict[str, Any]:
    body = await draft(t, **kwargs)
    assert "errors" not in body, body
    return body["data"]["draftEvaluationLetter"]["letter"]


async def signed(t: Trusted, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    letter = await drafted(t, **kwargs)
    envelope = sign_letter(payload_of(letter), *key_of(t, "wenjiang"))
    body = await t.gql(SIGN, {"n": letter["number"], "e": envelope}, party="wenjiang")
    assert "errors" not in body, body
    return body["data"]["signEvaluationLetter"]["letter"], envelope


async def test_draft_sign_acknowledge(served: Trusted) -> None:
    t = served
    body = await draft(t)
    assert "errors" not in body, body
    receipt = body["data"]["draftEvaluationLetter"]
    letter = receipt["letter"]
    assert receipt["entry"]["action"] == "evaluation_letter"
    assert receipt["entry"]["organizations"] == ["WJ-YQ", "LX-YS"]
    assert letter["number"] == receipt["entry"]["number"] and letter["state"] == "DRAFT"
    assert (letter["senderParty"], letter["recipientParty"]) == ("wenjiang", "luxian")
    assert letter["memberName"] == "张000"  # granted to 温江 in full by the contract
    # filled from the index: member 0 attended the 2025 themed party day online
    assert letter["attendance"] == {"activities": 1, "present": 0, "online": 1, "byReport": 0,
                                    "excused": 0, "absent": 0, "participationRate": 1.0}
    assert letter["points"] == 0  # no points awarded to this member this year (exchange_points)
    document = payload_of(letter)
    assert document["type"] == "yanxing.evaluation-letter" and document["year"] == 2025
    assert document["from"]["organization"] == "WJ-YQ"
    assert document["to"] == {"party": "luxian", "organization": "LX-YS",
                              "organization_name": "涌水村党支部"}
    assert letter["pdfUrl"] == f"/letters/{letter['number']}.pdf"

    envelope = sign_letter(document, *key_of(t, "wenjiang"))
    body = await t.gql(SIGN, {"n": letter["number"], "e": envelope}, party="wenjiang")
    assert "errors" not in body, body
    sign = body["data"]["signEvaluationLetter"]
    assert sign["entry"]["answers"] == letter["number"]
    assert sign["letter"]["state"] == "SIGNED"
    assert sign["letter"]["signature"] == {"party": "wenjiang", "kid": "wenjiang-1"}

    countersigned = countersign_letter(envelope, *key_of(t, "luxian"))
    body = await t.gql(ACK, {"n": letter["number"], "e": countersigned}, party="luxian")
    assert "errors" not in body, body
    ack = body["data"]["acknowledgeEvaluationLetter"]
    assert ack["entry"]["party"] == "luxian" and ack["entry"]["organizations"] == ["LX-YS"]
    assert ack["letter"]["state"] == "ACKNOWLEDGED"
    assert ack["letter"]["acknowledgement"] == {"party": "luxian", "kid": "luxian-1"}

    actions = [(r.action, r.party) for r in await ledger_rows(t)]
    assert actions == [("evaluation_letter", "wenjiang"), ("evaluation_letter_signature",
                       "wenjiang"), ("evaluation_letter_ack", "luxian")]
    for party in ("wenjiang", "luxian"):
        listed = await t.gql(LIST, {"f": {"year": 2025}}, party=party)
        assert [n["state"] for n in listed["data"]["evaluationLetters"]["nodes"]] == \
            ["ACKNOWLEDGED"]
    nobody = await t.gql(LIST, {}, party="deyang")
    assert nobody["data"]["evaluationLetters"]["totalCount"] == 0
    bodies = await audit_bodies(t)
    assert {b.get("action") for b in bodies if b.get("entry")} == {
        "evaluation_letter", "evaluation_letter_signature", "evaluation_letter_ack"}


async def test_wrong_party_state_and_scope_are_refused_and_write_nothing(
        served: Trusted) -> None:
    t = served
    # the origin receives letters, it does not write them to itself
    own = await draft(t, "luxian", org="LX-YS")
    assert codes(own) == {"WRONG_PARTY"}
    # 德阳 sees none of these members: not found, whether or not they exist
    assert codes(await draft(t, "deyang", org="WJ-YQ")) == {"NOT_FOUND"}
    letter = await drafted(t)
    before = len(await ledger_rows(t))
    envelope = sign_letter(payload_of(letter), *key_of(t, "luxian"))
    # only the sender signs; only the recipient acknowledges; in order
    assert codes(await t.gql(SIGN, {"n": letter["number"], "e": envelope},
                             party="luxian")) == {"WRONG_PARTY"}
    assert codes(await t.gql(ACK, {"n": letter["number"], "e": envelope},
                             party="luxian")) == {"STATE_CONFLICT"}
    assert codes(await t.gql(ACK, {"n": letter["number"], "e": envelope},
                             party="wenjiang")) == {"WRONG_PARTY"}
    assert codes(await t.gql(SIGN, {"n": letter["number"], "e": envelope},
                             party="deyang")) == {"NOT_FOUND"}
    assert codes(await t.gql(SIGN, {"n": 999999, "e": envelope},
                             party="wenjiang")) == {"NOT_FOUND"}
    assert len(await ledger_rows(t)) == before
    bodies = await audit_bodies(t)
    assert [b["decision"] for b in bodies[-5:]] == ["denied"] * 5


async def test_a_signed_letter_is_final(served: Trusted) -> None:
    t = served
    letter, envelope = await signed(t)
    again = await t.gql(SIGN, {"n": letter["number"], "e": envelope}, party="wenjiang")
    assert codes(again) == {"STATE_CONFLICT"}
    # a second letter for the same year is refused, superseding a signed one too
    assert codes(await draft(t)) == {"STATE_CONFLICT"}
    assert codes(await draft(t, supersedes=letter["number"])) == {"STATE_CONFLICT"}


async def test_a_draft_is_corrected_by_a_superseding_draft(served: Trusted) -> None:
    t = served
    first = await drafted(t, rec="NONE")
    body = await draft(t, rec="COMMEND", perf="表现突出", supersedes=first["number"])
    assert "errors" not in body, body
    second = body["data"]["draftEvaluationLetter"]
    assert second["entry"]["supersedes"] == first["number"]
    listed = await t.gql(LIST, {"f": {"memberKey": t.world.keys[0]}}, party="wenjiang")
    states = {n["number"]: (n["state"], n["supersededBy"])
              for n in listed["data"]["evaluationLetters"]["nodes"]}
    assert states == {first["number"]: ("SUPERSEDED", second["entry"]["number"]),
                      second["entry"]["number"]: ("DRAFT", None)}


async def test_forged_and_tampered_signatures_are_refused(served: Trusted) -> None:
    t = served
    letter = await drafted(t)
    document = payload_of(letter)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forged = sign_letter(document, Ed25519PrivateKey.generate(), "wenjiang-1")
    tampered = sign_letter({**document, "recommendation": "none"}, *key_of(t, "wenjiang"))
    by_other = sign_letter(document, *key_of(t, "luxian"))
    for envelope in (forged, tampered, by_other):
        body = await t.gql(SIGN, {"n": letter["number"], "e": envelope}, party="wenjiang")
        assert codes(body) == {"SIGNATURE_INVALID"}, body
    assert [r.action for r in await ledger_rows(t)] == ["evaluation_letter"]
    listed = await t.gql(LIST, {}, party="wenjiang")
    assert listed["data"]["evaluationLetters"]["nodes"][0]["state"] == "DRAFT"


async def test_bad_payloads_are_bad_user_input_and_write_nothing(served: Trusted) -> None:
    t = served
    for kwargs in ({"year": 1800}, {"perf": ""}, {"perf": "很" * 2001},
                   {"text_": "a\x00b"}):
        body = await draft(t, **kwargs)
        assert codes(body) == {"BAD_USER_INPUT"}, (kwargs, body)
    letter = await drafted(t)
    for envelope in ("not an object", [1, 2], {"payload": "e30"}):
        body = await t.gql(SIGN, {"n": letter["number"], "e": envelope}, party="wenjiang")
        assert codes(body) in ({"BAD_USER_INPUT"}, {"SIGNATURE_INVALID"}), body
    bad_enum = await t.post(DRAFT, {"k": t.world.keys[0], "o": "WJ-YQ", "y": 2025,
                                    "r": "PRAISE", "p": "x"}, party="wenjiang")
    assert codes(bad_enum.json()) == {"BAD_USER_INPUT"}
    assert [r.action for r in await ledger_rows(t)] == ["evaluation_letter"]


async def test_idempotent_retries_and_conflicts(served: Trusted) -> None:
    t = served
    first = await draft(t, key="letter-1")
    again = await draft(t, key="letter-1")
    assert again["data"]["draftEvaluationLetter"]["replayed"] is True
    assert again["data"]["draftEvaluationLetter"]["letter"]["number"] == \
        first["data"]["draftEvaluationLetter"]["letter"]["number"]
    assert codes(await draft(t, key="letter-1", rec="NONE")) == {"IDEMPOTENCY_CONFLICT"}
    letter = first["data"]["draftEvaluationLetter"]["letter"]
    envelope = sign_letter(payload_of(letter), *key_of(t, "wenjiang"))
    one = await t.gql(SIGN, {"n": letter["number"], "e": envelope, "key": "s-1"},
                      party="wenjiang")
    two = await t.gql(SIGN, {"n": letter["number"], "e": envelope, "key": "s-1"},
                      party="wenjiang")
    assert one["data"]["signEvaluationLetter"]["replayed"] is False
    assert two["data"]["signEvaluationLetter"]["replayed"] is True  # not a state conflict
    assert [r.action for r in await ledger_rows(t)] == ["evaluation_letter",
                                                        "evaluation_letter_signature"]


async def test_concurrent_duplicates_give_one_entry(served: Trusted) -> None:
    t = served
    drafts = await asyncio.gather(*(draft(t, member=1) for _ in range(4)))
    ok = [b for b in drafts if "errors" not in b]
    assert len(ok) == 1 and all(codes(b) == {"STATE_CONFLICT"} for b in drafts if b not in ok)
    letter = ok[0]["data"]["draftEvaluationLetter"]["letter"]
    envelope = sign_letter(payload_of(letter), *key_of(t, "wenjiang"))
    signs = await asyncio.gather(*(t.gql(SIGN, {"n": letter["number"], "e": envelope,
                                               "key": f"k{i}"}, party="wenjiang")
                                   for i in range(4)))
    assert sum("errors" not in b for b in signs) == 1
    assert [r.action for r in await ledger_rows(t)] == ["evaluation_letter",
                                                        "evaluation_letter_signature"]
    same_key = await asyncio.gather(*(draft(t, member=2, key="same") for _ in range(3)))
    assert sorted(b["data"]["draftEvaluationLetter"]["replayed"] for b in same_key) == \
        [False, True, True]


async def test_without_the_permission_it_is_contract_denied(served: Trusted) -> None:
    t = served
    # 泸县 revokes the two-party contract: the multi-party one grants no evaluation_letter
    path = t.demo.contracts["wenjiang--luxian"]
    import json

    envelope = json.loads(path.read_text(encoding="utf-8"))
    contract = parse_contract(parse_general(envelope).payload)
    revocation = make_revocation(contract, "test", *key_of(t, "luxian"))
    await t.trust.store.revoke(revocation, t.trust.registry)
    body = await draft(t)
    assert codes(body) == {"CONTRACT_DENIED"}
    assert "evaluation_letter" in body["errors"][0]["message"]
    async with t.world.runtime.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM exchange_letters"))
                ).scalar_one() == 0


async def test_relay_pages_both_ways(served: Trusted) -> None:
    t = served
    numbers = [(await drafted(t, member=i))["number"] for i in range(5)]
    newest_first = list(reversed(numbers))
    page = (await t.gql(LIST, {"first": 2}, party="luxian"))["data"]["evaluationLetters"]
    assert [n["number"] for n in page["nodes"]] == newest_first[:2]
    assert page["totalCount"] == 5 and page["pageInfo"]["hasNextPage"] is True
    after = (await t.gql(LIST, {"first": 2, "after": page["pageInfo"]["endCursor"]},
                         party="luxian"))["data"]["evaluationLetters"]
    assert [n["number"] for n in after["nodes"]] == newest_first[2:4]
    last = (await t.gql(LIST, {"last": 2}, party="luxian"))["data"]["evaluationLetters"]
    assert [n["number"] for n in last["nodes"]] == newest_first[3:]
    assert last["pageInfo"]["hasPreviousPage"] is True
    before = (await t.gql(LIST, {"last": 2, "before": last["pageInfo"]["startCursor"]},
                          party="luxian"))["data"]["evaluationLetters"]
    assert [n["number"] for n in before["nodes"]] == newest_first[1:3]
    both = await t.gql(LIST, {"first": 1, "last": 1}, party="luxian")
    assert codes(both) == {"BAD_REQUEST"}


def test_every_action_name_fits_the_ledger_column() -> None:
    # PostgreSQL refuses a longer one at the first write (SQLite would not notice)
    from hub.exchange.ledger import ExchangeEntryRow
    from hub.exchange.payloads import ACTIONS

    width = getattr(ExchangeEntryRow.__table__.c.action.type, "length", None)
    assert width is not None
    assert [a for a in ACTIONS if len(a) > width] == []
