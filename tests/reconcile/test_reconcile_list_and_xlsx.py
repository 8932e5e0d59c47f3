"""A party's reconciliation runs over real HTTP: `reconciliations(first, after)` lists the runs
it is a party of (newest first, paged, nobody else's), and `GET /reconciliations/{id}.xlsx`
serves a run's workbook to its parties only — 汇总 then one sheet per category, each party's
own view (泸县's bad rows to 泸县 alone) — with 404 alike for a stranger and a missing run, 401
without a token, 409 before the run is done, and every answer in the audit log."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from hub.reconcile.export import SHEET_NAMES
from hub.reconcile.store import create_run
from tests.api.conftest import id_number, make_world  # noqa: F401  (fixtures)
from tests.api.trusted import Trusted
from tests.exchange.conftest import audit_bodies, served  # noqa: F401  (fixtures)
from tests.reconcile.test_reconcile_api import (
    destination_routing,
    ledger_csv,
    start,
    upload,
    wait_done,
)

LIST = """query($first: Int, $after: String) { reconciliations(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  nodes { id period state originParty destinationParty counts { category count } } } }"""
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def fetch(t: Trusted, path: str, party: str | None) -> tuple[int, bytes, str]:
    headers = {"Authorization": f"Bearer {t.demo.token_for(party)}"} if party else {}
    response = await t.world.client.get(path, headers=headers)
    return response.status_code, response.content, response.headers.get("content-type", "")


async def two_runs(t: Trusted) -> tuple[str, str]:
    await destination_routing(t)
    first = await start(t, "luxian", counterparty="wenjiang", period="2026Q2")
    earlier = first["data"]["startReconciliation"]["id"]
    assert (await wait_done(t, earlier, "luxian"))["state"] == "done"
    second = await start(t, "luxian", counterparty="wenjiang", ledger=upload(ledger_csv()))
    later = second["data"]["startReconciliation"]["id"]
    assert (await wait_done(t, later, "luxian"))["state"] == "done"
    return earlier, later


async def test_reconciliations_lists_the_callers_runs_newest_first(served: Trusted) -> None:
    t = served
    earlier, later = await two_runs(t)
    for party in ("luxian", "wenjiang"):
        page = (await t.gql(LIST, {"first": 1}, party=party))["data"]["reconciliations"]
        assert page["totalCount"] == 2 and page["pageInfo"]["hasNextPage"]
        assert [n["id"] for n in page["nodes"]] == [later]
        assert page["nodes"][0]["period"] == "2026Q3"
        assert (page["nodes"][0]["originParty"], page["nodes"][0]["destinationParty"]) == (
            "luxian", "wenjiang")
        rest = (await t.gql(LIST, {"first": 5, "after": page["pageInfo"]["endCursor"]},
                            party=party))["data"]["reconciliations"]
        assert [n["id"] for n in rest["nodes"]] == [earlier]
        assert not rest["pageInfo"]["hasNextPage"]
    stranger = (await t.gql(LIST, {"first": 5}, party="deyang"))["data"]["reconciliations"]
    assert stranger == {"totalCount": 0, "pageInfo": {"hasNextPage": False, "endCursor": None},
                        "nodes": []}
    negative = await t.gql(LIST, {"first": -1}, party="luxian")
    assert negative["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    huge = await t.gql(LIST, {"first": 100_000}, party="luxian")
    assert huge["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    bad_cursor = await t.gql(LIST, {"first": 1, "after": "not-a-cursor"}, party="luxian")
    assert bad_cursor["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    anonymous = (await t.post(LIST, {"first": 1})).json()
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def sheets(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


async def test_the_workbook_goes_to_the_runs_parties_only(served: Trusted) -> None:
    t = served
    _, run = await two_runs(t)
    path = f"/reconciliations/{run}.xlsx"
    status, data, kind = await fetch(t, path, "luxian")
    assert (status, kind) == (200, XLSX)
    mine = sheets(data)
    assert list(mine) == ["汇总", *SHEET_NAMES.values()]
    summary = mine["汇总"]
    assert summary[0][0] == "雁行 双向对账报告" and ("期间", "2026Q3") == summary[4][:2]
    counts = {r[0]: r[2] for r in summary if r and r[0] in SHEET_NAMES.values()}
    assert counts["一致"] == 9 and counts["疑似匹配待确认"] == 1 and counts["问题行"] == 2
    assert len(mine["一致"]) == 1 + 9  # the header, then every matched row
    assert {r[4] for r in mine["问题行"][1:]} == {"INVALID_DATE", "INVALID_ID_NUMBER"}
    assert any(r and str(r[0]).startswith("yanxing-hub") for r in summary)
    status, data, _ = await fetch(t, path, "wenjiang")
    theirs = sheets(data)
    assert status == 200 and list(theirs) == list(mine)
    assert len(theirs["问题行"]) == 1  # 泸县's bad rows are 泸县's: 温江 gets the header only
    denied = await fetch(t, path, "deyang")
    missing = await fetch(t, "/reconciliations/0123456789abcdef.xlsx", "deyang")
    assert denied[0] == missing[0] == 404
    assert b"luxian" not in denied[1] and b"xlsx" not in denied[1]
    assert (await fetch(t, path, None))[0] == 401
    queued = await create_run(t.world.runtime.session_factory, contract_id="wenjiang--luxian",
                              contract_digest="x", origin_party="luxian",
                              destination_party="wenjiang", period="2026Q4", scope={},
                              started_by="luxian", user=None)
    status, body, _ = await fetch(t, f"/reconciliations/{queued}.xlsx", "luxian")
    assert status == 409 and b"STATE_CONFLICT" in body
    entries = [b for b in await audit_bodies(t)
               if "Reconciliation.xlsx" in (b.get("allowed", []) + b.get("denied", []))]
    assert [b["decision"] for b in entries] == ["allowed", "allowed", "denied", "denied"]
    assert entries[0]["members"] and all(len(k) == 64 for k in entries[0]["members"])


CANDIDATES = """query($id: ID!) { reconciliation(id: $id) { rows(category: CANDIDATE, first: 5) {
  nodes { pair decision } } } }"""
DECIDE = """mutation($r: ID!, $p: ID!) { %s(reconciliation: $r, pair: $p) { decision party } }"""


async def test_a_candidate_row_says_the_decision_made_on_it(served: Trusted) -> None:
    """`ReconciliationRow.decision`: null until someone decides, then the latest decision under
    the contract, the same for both parties; a pair not in the run is NOT_FOUND."""
    t = served
    _, run = await two_runs(t)

    async def decisions(party: str) -> list[Any]:
        body = await t.gql(CANDIDATES, {"id": run}, party=party)
        assert "errors" not in body, body
        return [n["decision"] for n in body["data"]["reconciliation"]["rows"]["nodes"]]

    pair = (await t.gql(CANDIDATES, {"id": run}, party="luxian"))["data"]["reconciliation"][
        "rows"]["nodes"][0]["pair"]
    assert await decisions("luxian") == [None]
    made = await t.gql(DECIDE % "confirmMatch", {"r": run, "p": pair}, party="luxian")
    assert made["data"]["confirmMatch"] == {"decision": "confirmed", "party": "luxian"}
    assert await decisions("luxian") == await decisions("wenjiang") == ["confirmed"]
    made = await t.gql(DECIDE % "rejectMatch", {"r": run, "p": pair}, party="wenjiang")
    assert made["data"]["rejectMatch"]["decision"] == "rejected"
    assert await decisions("luxian") == ["rejected"]
    missing = await t.gql(DECIDE % "confirmMatch", {"r": run, "p": "0" * 16}, party="luxian")
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    stranger = await t.gql(DECIDE % "confirmMatch", {"r": run, "p": pair}, party="deyang")
    assert stranger["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await decisions("luxian") == ["rejected"]
