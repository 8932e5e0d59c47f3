"""`yanxing letter sign`: a party signs a letter's payload offline and countersigns an
envelope; what it writes verifies as the API verifies it; bad files exit 2 saying why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.cli import main
from hub.contracts.demo import DemoTrust, build_demo_trust
from hub.exchange.letter_signing import payload_b64, verify_letter_signature

PAYLOAD = {"type": "yanxing.evaluation-letter", "id": "7", "year": 2025,
           "member": {"key": "k", "name": "毛正伦"}, "text": "表现良好"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoTrust:
    return build_demo_trust(tmp_path_factory.mktemp("trust"),
                            [("wenjiang", "温江", ["510115"]), ("luxian", "泸县", ["510521"])])


def test_sign_then_countersign(demo: DemoTrust, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    payload_file = tmp_path / "payload.txt"
    payload_file.write_text(payload_b64(PAYLOAD) + "\n", encoding="ascii")
    signed = tmp_path / "signed.json"
    assert main(["letter", "sign", str(payload_file), "--key",
                 str(demo.party_keys["wenjiang"][1]), "--out", str(signed)]) == 0
    envelope = json.loads(signed.read_text(encoding="utf-8"))
    assert verify_letter_signature(envelope, PAYLOAD, demo.registry, "wenjiang").kid == \
        "wenjiang-1"
    assert main(["letter", "sign", str(signed), "--key",
                 str(demo.party_keys["luxian"][1])]) == 0
    both = json.loads(capsys.readouterr().out)
    assert verify_letter_signature(both, PAYLOAD, demo.registry, "luxian").party == "luxian"
    assert len(both["signatures"]) == 2


@pytest.mark.parametrize("content", ["not base64 !!", '{"type": "yanxing.contract"}', "[1]"])
def test_bad_input_exits_2(demo: DemoTrust, tmp_path: Path, content: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(content, encoding="utf-8")
    assert main(["letter", "sign", str(bad), "--key",
                 str(demo.party_keys["wenjiang"][1])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("yanxing: ") and "Traceback" not in err
