"""`GET /letters/{id}.pdf` over real HTTP: the letter's two parties get a PDF whose text
(pdftotext) holds the member's name and the Chinese headings; anyone else gets 404."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hub.exchange.letter_pdf import HEADINGS
from hub.exchange.letter_signing import countersign_letter
from tests.api.trusted import Trusted
from tests.exchange.conftest import audit_bodies
from tests.exchange.test_letters import ACK, key_of, signed

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="pdftotext missing: apt-get install poppler-utils")


async def fetch(t: Trusted, path: str, party: str | None) -> tuple[int, bytes, str]:
    headers = {"Authorization": f"Bearer {t.demo.token_for(party)}"} if party else {}
    response = await t.world.client.get(path, headers=headers)
    return response.status_code, response.content, response.headers.get("content-type", "")


def text_of(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "letter.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


async def test_both_parties_get_the_pdf_and_nobody_else(served: Trusted,
                                                         tmp_path: Path) -> None:
    t = served
    letter, envelope = await signed(t)
    body = await t.gql(ACK, {"n": letter["number"],
                             "e": countersign_letter(envelope, *key_of(t, "luxian"))},
                       party="luxian")
    assert "errors" not in body, body
    for party in ("luxian", "wenjiang"):
        status, data, kind = await fetch(t, letter["pdfUrl"], party)
        assert (status, kind) == (200, "application/pdf")
        text = text_of(data, tmp_path)
        assert "张000" in text
        for heading in HEADINGS:
            assert heading in text
        assert "wenjiang（密钥 wenjiang-1）" in text and "luxian（密钥 luxian-1）" in text
        assert "涌水村党支部" in text and "建议表彰" in text
    denied = await fetch(t, letter["pdfUrl"], "deyang")
    missing = await fetch(t, "/letters/999999.pdf", "deyang")
    assert denied[0] == missing[0] == 404 and denied[1] == missing[1].replace(
        b"999999", str(letter["number"]).encode())
    assert (await fetch(t, letter["pdfUrl"], None))[0] == 401
    bodies = await audit_bodies(t)
    pdf_entries = [b for b in bodies if "EvaluationLetter.pdf" in
                   (b.get("allowed", []) + b.get("denied", []))]
    assert [b["decision"] for b in pdf_entries] == ["allowed", "allowed", "denied", "denied"]
    assert pdf_entries[0]["members"] == [t.world.keys[0]]
