"""`yanxing reconcile-sign`: a party countersigns a reconciliation report offline with the hub
core primitive the console uses; what it writes verifies as `signReconciliation` verifies it
(every signature against the trust registry); bad files exit 2 saying why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.cli import main
from hub.contracts.demo import DemoTrust, build_demo_trust
from hub.reconcile.report import REPORT_TYPE, sign_report, verify_report

DOCUMENT = {"type": REPORT_TYPE, "id": "run-1",
            "parties": {"origin": "luxian", "destination": "wenjiang"},
            "counts": {"matched": 9}, "rows": {"matched": "sha256:00"}}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoTrust:
    return build_demo_trust(tmp_path_factory.mktemp("trust"),
                            [("wenjiang", "温江", ["510115"]), ("luxian", "泸县", ["510521"])])


def test_both_parties_countersign_what_the_api_returned(
        demo: DemoTrust, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    envelope = sign_report(DOCUMENT, demo.hub_key, demo.hub_kid)
    # the report as it appears inside a GraphQL answer: a JSON string
    report = tmp_path / "report.json"
    report.write_text(json.dumps(json.dumps(envelope)), encoding="utf-8")
    once = tmp_path / "once.json"
    assert main(["reconcile-sign", str(report), "--key", str(demo.party_keys["luxian"][1]),
                 "--out", str(once)]) == 0
    assert main(["reconcile-sign", str(once), "--key",
                 str(demo.party_keys["wenjiang"][1])]) == 0
    both = json.loads(capsys.readouterr().out)
    verified = verify_report(both, demo.registry)
    assert set(verified.parties) == {"luxian", "wenjiang"} and verified.signed_by_every_party()
    assert verified.parties["luxian"].kid == "luxian-1"


@pytest.mark.parametrize("content", ["not json", '{"type": "yanxing.contract"}', "[1]",
                                     json.dumps({"payload": "e30", "signatures": []})])
def test_bad_input_exits_2(demo: DemoTrust, tmp_path: Path, content: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    assert main(["reconcile-sign", str(bad), "--key",
                 str(demo.party_keys["wenjiang"][1])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("yanxing: ") and "Traceback" not in err
