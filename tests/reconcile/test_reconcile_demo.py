"""The demo's 叙州 (origin) and 成都 (destination) reconcile a quarter over real HTTP (uvicorn
on 127.0.0.1) from their configured systems: a run, a candidate confirmed if the planted bad ID
numbers gave one, both countersign, the quarterly obligation is fulfilled; and `yanxing
reconcile` on the demo's configuration writes an XLSX with every category."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from hub.cli import main
from hub.contracts.keys import load_private_key
from hub.demo.launch import DemoHub, start_demo
from hub.reconcile.export import SHEET_NAMES
from hub.reconcile.report import countersign
from hub.reconcile.store import quarterly_reconciliation_signed
from hub.store.session import create_engine, create_session_factory

XUZHOU, CHENGDU = "xuzhou-county-org", "chengdu-rcxf-operator"
RUN = """query($id: ID!) { reconciliation(id: $id) { state contractId report
  counts { category count }
  rows(category: CANDIDATE, first: 10) { edges { node { pair reasons score } } } } }"""


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[DemoHub, str]]:
    import uvicorn

    from hub.app import create_app

    async with start_demo(tmp_path / "demo", port=0, members=150) as hub:
        assert hub.trust is not None
        app = create_app(hub.settings, trust=hub.trust.trust_config(checkpoint_every=50))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                               log_level="warning", lifespan="on"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield hub, f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await task


async def gql(client: httpx.AsyncClient, hub: DemoHub, party: str, query: str,
              variables: dict[str, Any]) -> dict[str, Any]:
    assert hub.trust is not None
    token = hub.trust.token_for(party)
    response = await client.post("/graphql", json={"query": query, "variables": variables},
                                 headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


async def test_xuzhou_and_chengdu_reconcile_a_quarter(served: tuple[DemoHub, str],
                                                      tmp_path: Path) -> None:
    hub, url = served
    assert hub.trust is not None
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        started = await gql(client, hub, XUZHOU, """mutation { startReconciliation(input: {
            counterparty: "chengdu-rcxf-operator", period: "2026Q3"}) { id } }""", {})
        run_id = started["startReconciliation"]["id"]
        for _ in range(400):
            run = (await gql(client, hub, CHENGDU, RUN, {"id": run_id}))["reconciliation"]
            if run["state"] in ("done", "failed"):
                break
            await asyncio.sleep(0.05)
        assert run["state"] == "done", run
        counts = {c["category"]: c["count"] for c in run["counts"]}
        assert counts["MATCHED"] + counts["DIFFERING"] + counts["STATUS_CONFLICT"] > 0
        for edge in run["rows"]["edges"]:
            decided = await gql(client, hub, XUZHOU, """mutation($r: ID!, $p: ID!) {
                confirmMatch(reconciliation: $r, pair: $p) { decision } }""",
                                {"r": run_id, "p": edge["node"]["pair"]})
            assert decided["confirmMatch"]["decision"] == "confirmed"
            break
        envelope = json.loads(run["report"])
        for party in (XUZHOU, CHENGDU):
            kid, path = hub.trust.party_keys[party]
            signed = countersign(envelope, load_private_key(path), kid)
            answer = await gql(client, hub, party, """mutation($id: ID!, $e: String!) {
                signReconciliation(id: $id, envelope: $e) { state signedByEveryParty } }""",
                               {"id": run_id, "e": json.dumps(signed)})
        assert answer["signReconciliation"] == {"state": "signed", "signedByEveryParty": True}
    engine = create_engine(hub.settings.hub.database_url)
    try:
        assert await quarterly_reconciliation_signed(create_session_factory(engine),
                                                     run["contractId"], "2026Q3")
    finally:
        await engine.dispose()


def test_the_cli_reconciles_the_demo_into_an_xlsx(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    async def prepare() -> DemoHub:
        async with start_demo(tmp_path / "demo", port=0, members=150) as hub:
            return hub

    hub = asyncio.run(prepare())
    for name, value in hub.env.items():
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    xlsx = tmp_path / "report.xlsx"
    assert main(["reconcile", "--config", str(hub.config_path), "--origin", XUZHOU,
                 "--destination", CHENGDU, "--period", "2026Q3", "--origin-region", "511502",
                 "--destination-region", "510100", "--out", str(xlsx)]) == 0
    assert "matched" in out.getvalue()
    book = openpyxl.load_workbook(xlsx, read_only=True)
    assert book.sheetnames == ["汇总", *SHEET_NAMES.values()]
    book.close()
