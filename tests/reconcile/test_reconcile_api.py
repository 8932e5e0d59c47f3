"""Reconciliation through HTTP with the parties' tokens: a GBK CSV handed in by the origin
(泸县) against the destination's (温江) index, a candidate confirmed and applied in the next
run, both parties countersigning, a tampered report refused, bad files refused with nothing
written, and a party with no contract over some records learning only their count."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from sqlalchemy import func, select, update

from hub.contracts.keys import load_private_key
from hub.jws import parse_general
from hub.reconcile.report import countersign
from hub.reconcile.store import RunRow, create_run, quarterly_reconciliation_signed
from hub.store.models import MemberRow, SourceLinkRow
from tests.api.conftest import id_number, make_world, trusted  # noqa: F401  (fixtures)
from tests.api.trusted import Trusted

MAPPING = """
[source]
name = "luxian_upload"
kind = "ledger"
side = "origin"

[connection]
file = "upload.csv"
format = "csv"

[entities.member]
local_id = "编号"
required = ["id_number", "name"]

[entities.member.fields]
name = "姓名"
id_number = "身份证号码"
birth_date = "出生日期"
status = "联系状态"
origin_region_code = "流出地"
"""

START = """mutation($input: StartReconciliationInput!) { startReconciliation(input: $input) {
  id state originParty destinationParty } }"""
RUN = """query($id: ID!, $c: ReconciliationCategory!) { reconciliation(id: $id) {
  state progress error errorCode signedByEveryParty report contractId
  counts { category count }
  signatures { party kid }
  rows(category: $c, first: 60) { totalCount edges { node {
    category memberKey pair via score reasons
    differences { field origin destination authority }
    origin { system localId row name status }
    destination { system localId name status }
    badRow { side location row column code message } } } } } }"""


def birth(i: int) -> str:
    return f"1990-{1 + i % 12:02d}-{1 + i % 28:02d}"


def bad_id(i: int) -> str:
    good = id_number(i)
    return good[:-1] + ("0" if good[-1] != "0" else "1")


def ledger_csv() -> bytes:
    lines = ["涌水村流动党员台账（2026年第三季度）",
             "编号,姓名,身份证号码,出生日期,联系状态,流出地"]
    for i in range(12):
        name, ident, status, born = f"张{i:03d}", id_number(i), "正常联系", birth(i)
        if i == 1:
            status = "失联"
        if i == 10:
            name, ident = f"張{i:03d}", bad_id(i)
        if i == 11:
            born = "1990年13月"
        lines.append(f"YS{i:03d},{name},{ident},{born},{status},510521")
    return ("\n".join(lines) + "\n").encode("gbk")


def upload(content: bytes, *, mapping: str = MAPPING, encoding: str | None = "gbk",
           filename: str = "台账.csv") -> dict[str, Any]:
    return {"filename": filename, "contentBase64": base64.b64encode(content).decode(),
            "mapping": mapping, "encoding": encoding}


async def destination_routing(t: Trusted, deyang: int = 0) -> None:
    """What a sync of 温江's platform would have left in the index for its records; plus
    `deyang` members from 德阳 (510600) that only 温江 knows."""
    sessions = t.world.runtime.session_factory
    async with sessions.begin() as session:
        for i in range(60):
            await session.execute(update(SourceLinkRow).where(
                SourceLinkRow.source == "city", SourceLinkRow.local_id == f"d{i}").values(
                routing={"name": "张贰" if i == 2 else f"张{i:03d}", "birth_date": birth(i),
                         "status": "in_contact", "destination_region_code": "510115"}))
        from datetime import UTC, datetime

        from hub.federation.identity import member_key
        now = datetime.now(UTC)
        for j in range(deyang):
            key = member_key(t.world.runtime.hash_key, id_number(j, "510600"))
            session.add(MemberRow(key=key, name=f"德{j}", origin_region_code="510600",
                                  destination_region_code="510115", indexed_at=now))
            session.add(SourceLinkRow(
                source="city", local_id=f"dy{j}", member_key=key, fields=[], content_hash="x",
                routing={"name": f"德阳人{j}", "destination_region_code": "510115",
                         "origin_region_code": "510600"}, fetched_at=now,
                side="destination"))


async def wait_done(t: Trusted, run_id: str, party: str) -> dict[str, Any]:
    for _ in range(200):
        body = await t.gql(RUN, {"id": run_id, "c": "MATCHED"}, party=party)
        assert body.get("data"), body
        run = body["data"]["reconciliation"]
        if run["state"] in ("done", "failed", "signed"):
            return run
        await asyncio.sleep(0.05)
    raise AssertionError("the reconciliation did not finish")


async def rows(t: Trusted, run_id: str, category: str, party: str) -> dict[str, Any]:
    body = await t.gql(RUN, {"id": run_id, "c": category}, party=party)
    assert "errors" not in body, body
    return body["data"]["reconciliation"]["rows"]


async def start(t: Trusted, party: str, **fields: Any) -> dict[str, Any]:
    return await t.gql(START, {"input": {"period": "2026Q3", **fields}}, party=party)


async def test_quarterly_reconciliation_end_to_end(trusted: Trusted) -> None:
    t = trusted
    await destination_routing(t)
    body = await start(t, "luxian", counterparty="wenjiang", ledger=upload(ledger_csv()))
    assert "errors" not in body, body
    started = body["data"]["startReconciliation"]
    assert (started["originParty"], started["destinationParty"]) == ("luxian", "wenjiang")
    run = await wait_done(t, started["id"], "luxian")
    assert run["state"] == "done", run
    counts = {c["category"]: c["count"] for c in run["counts"]}
    assert counts["MATCHED"] == 9 and counts["STATUS_CONFLICT"] == 1
    assert counts["DIFFERING"] == 1 and counts["CANDIDATE"] == 1
    assert counts["DESTINATION_ONLY"] == 48 and counts["ORIGIN_ONLY"] == 0
    bad = (await rows(t, started["id"], "BAD_ROW", "luxian"))["edges"]
    found = {(e["node"]["badRow"]["code"], e["node"]["badRow"]["row"]) for e in bad}
    assert ("INVALID_DATE", 14) in found and ("INVALID_ID_NUMBER", 13) in found
    differing = (await rows(t, started["id"], "DIFFERING", "wenjiang"))["edges"][0]["node"]
    assert differing["differences"] == [{"field": "name", "origin": "张002",
                                         "destination": "张贰", "authority": "origin"}]
    conflict = (await rows(t, started["id"], "STATUS_CONFLICT", "luxian"))["edges"][0]["node"]
    assert conflict["origin"]["status"] == "lost_contact"
    assert conflict["destination"]["status"] == "in_contact"
    candidate = (await rows(t, started["id"], "CANDIDATE", "wenjiang"))["edges"][0]["node"]
    assert candidate["origin"]["localId"] == "YS010"
    assert candidate["destination"]["localId"] == "d10"
    assert "name_variant" in candidate["reasons"] and "birth_date" in candidate["reasons"]

    # a person confirms the candidate; the next run compares it as a match
    decided = await t.gql("""mutation($r: ID!, $p: ID!) { confirmMatch(reconciliation: $r,
        pair: $p) { pair decision party } }""", {"r": started["id"], "p": candidate["pair"]},
                          party="wenjiang")
    assert decided["data"]["confirmMatch"]["decision"] == "confirmed", decided
    again = (await start(t, "luxian", counterparty="wenjiang",
                         ledger=upload(ledger_csv())))["data"]["startReconciliation"]
    second = await wait_done(t, again["id"], "wenjiang")
    counts = {c["category"]: c["count"] for c in second["counts"]}
    assert counts["CANDIDATE"] == 0 and counts["DIFFERING"] == 2
    via = {e["node"]["origin"]["localId"]: e["node"]["via"]
           for e in (await rows(t, again["id"], "DIFFERING", "luxian"))["edges"]}
    assert via == {"YS002": "id", "YS010": "confirmed"}

    # both parties countersign; the quarterly obligation is then fulfilled
    contract_id = second["contractId"]
    sessions = t.world.runtime.session_factory
    assert not await quarterly_reconciliation_signed(sessions, contract_id, "2026Q3")
    sign = """mutation($id: ID!, $e: String!) { signReconciliation(id: $id, envelope: $e) {
      state signedByEveryParty signatures { party } } }"""
    envelope = json.loads(second["report"])
    kid, path = t.demo.party_keys["wenjiang"]
    theirs = countersign(envelope, load_private_key(path), kid)
    impostor = await t.gql(sign, {"id": again["id"], "e": json.dumps(theirs)}, party="luxian")
    assert impostor["errors"][0]["extensions"]["code"] == "CONTRACT_DENIED"
    for party in ("luxian", "wenjiang"):
        kid, path = t.demo.party_keys[party]
        signed = countersign(envelope, load_private_key(path), kid)
        answer = await t.gql(sign, {"id": again["id"], "e": json.dumps(signed)}, party=party)
        assert "errors" not in answer, answer
    final = answer["data"]["signReconciliation"]
    assert final["state"] == "signed" and final["signedByEveryParty"]
    assert {s["party"] for s in final["signatures"]} == {"yanxing-hub", "luxian", "wenjiang"}
    assert await quarterly_reconciliation_signed(sessions, contract_id, "2026Q3")
    assert not await quarterly_reconciliation_signed(sessions, contract_id, "2026Q2")
    ledger = await t.gql("""{ exchangeEntries(filter: {actions: ["reconciliation"]}, first: 5) {
        edges { node { action party organization { code } payload contractDigests } } } }""",
                         party="luxian")
    entries = [e["node"] for e in ledger["data"]["exchangeEntries"]["edges"]]
    assert len(entries) == 1 and entries[0]["party"] == "wenjiang", ledger
    assert entries[0]["payload"]["run"] == again["id"]
    assert entries[0]["payload"]["period"] == "2026Q3"
    assert entries[0]["payload"]["signers"] == ["luxian", "wenjiang"]

    # a tampered report is refused, whoever signs it
    payload = parse_general(envelope).payload
    payload["counts"]["destination_only"] = 0
    from hub.canonical_json import b64url, canonical
    forged = {"payload": b64url(canonical(payload)), "signatures": envelope["signatures"]}
    kid, path = t.demo.party_keys["luxian"]
    forged = countersign(forged, load_private_key(path), kid)
    refused = await t.gql(sign, {"id": again["id"], "e": json.dumps(forged)}, party="luxian")
    assert refused["errors"][0]["extensions"]["code"] == "CONTRACT_INVALID"
    broken = json.loads(second["report"])
    broken["signatures"].append({**broken["signatures"][0]})
    sig = broken["signatures"][-1]["signature"]
    broken["signatures"][-1]["signature"] = ("A" if sig[0] != "A" else "B") + sig[1:]
    refused = await t.gql(sign, {"id": again["id"], "e": json.dumps(broken)}, party="luxian")
    assert refused["errors"][0]["extensions"]["code"] == "CONTRACT_INVALID"


async def test_bad_files_stop_before_any_work(trusted: Trusted) -> None:
    t = trusted
    sessions = t.world.runtime.session_factory
    wrong = await start(t, "luxian", counterparty="wenjiang",
                        ledger=upload(ledger_csv(), encoding="utf-8"))
    error = wrong["errors"][0]
    assert error["extensions"]["code"] == "LEDGER_INVALID"
    assert "gbk" in error["message"]
    no_id = MAPPING.replace('id_number = "身份证号码"', 'id_number = "公民身份号码"')
    missing = await start(t, "luxian", counterparty="wenjiang", ledger=upload(ledger_csv(),
                                                                            mapping=no_id))
    assert missing["errors"][0]["extensions"]["code"] == "LEDGER_INVALID"
    assert "公民身份号码" in missing["errors"][0]["message"]
    escape = MAPPING.replace('[entities.member]\n', '[entities.member]\nfile = "/etc/passwd"\n')
    sneaky = await start(t, "luxian", counterparty="wenjiang", ledger=upload(ledger_csv(),
                                                                           mapping=escape))
    assert sneaky["errors"][0]["extensions"]["code"] == "LEDGER_INVALID"
    path = await start(t, "luxian", counterparty="wenjiang",
                       ledger=upload(ledger_csv(), filename="../x.csv"))
    assert path["errors"][0]["extensions"]["code"] == "LEDGER_INVALID"
    period = await start(t, "luxian", counterparty="wenjiang", period="2026-07")
    assert period["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(RunRow)) == 0


async def test_only_parties_with_the_permission_see_a_run(trusted: Trusted) -> None:
    t = trusted
    await destination_routing(t)
    stranger = await start(t, "deyang", counterparty="luxian")
    assert stranger["errors"][0]["extensions"]["code"] == "CONTRACT_DENIED"
    started = (await start(t, "wenjiang", counterparty="luxian"))["data"]["startReconciliation"]
    await wait_done(t, started["id"], "wenjiang")
    busy = await create_run(t.world.runtime.session_factory, contract_id="wenjiang--luxian",
                            contract_digest="x", origin_party="luxian",
                            destination_party="wenjiang", period="2026Q4", scope={},
                            started_by="luxian", user=None)
    again = await start(t, "luxian", counterparty="wenjiang", period="2026Q4")
    assert again["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert busy in again["errors"][0]["message"]
    body = await t.gql(RUN, {"id": started["id"], "c": "MATCHED"}, party="deyang")
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert body["data"] is None
    anonymous = await t.post(RUN, {"id": started["id"], "c": "MATCHED"})
    assert "errors" in anonymous.json()


async def test_a_party_without_a_contract_over_records_learns_only_their_count(
        trusted: Trusted) -> None:
    """Under the regional contract (温江, 泸县, 德阳), 温江's ledger also holds 德阳's members:
    泸县 sees the count of destination-only rows whole, but no row about a 德阳 member."""
    t = trusted
    await destination_routing(t, deyang=5)
    regional = "wenjiang-luxian-deyang--regional"
    started = (await start(t, "wenjiang", counterparty="luxian",
                           contractId=regional))["data"]["startReconciliation"]
    run = await wait_done(t, started["id"], "wenjiang")
    assert run["state"] == "done", run
    counts = {c["category"]: c["count"] for c in run["counts"]}
    mine = await rows(t, started["id"], "DESTINATION_ONLY", "wenjiang")
    assert mine["totalCount"] == counts["DESTINATION_ONLY"] >= 5
    assert sum(e["node"]["destination"]["localId"].startswith("dy") for e in mine["edges"]) == 5
    response = await t.post(RUN, {"id": started["id"], "c": "DESTINATION_ONLY"}, party="luxian")
    theirs = response.json()["data"]["reconciliation"]
    assert {c["category"]: c["count"] for c in theirs["counts"]} == counts
    assert theirs["rows"]["totalCount"] == counts["DESTINATION_ONLY"] - 5
    for j in range(5):
        assert f"dy{j}" not in response.text and f"德阳人{j}" not in response.text
