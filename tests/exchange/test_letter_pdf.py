"""The letter PDF: Chinese text that a reader (pdftotext, from poppler-utils) reads back."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.exchange.letter_document import (
    LetterAttendance,
    LetterDocument,
    LetterParty,
    Recommendation,
)
from hub.exchange.letter_pdf import (
    HEADINGS,
    LetterSignature,
    missing_characters,
    render_letter_pdf,
)

PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(
    PDFTOTEXT is None, reason="pdftotext missing: apt-get install poppler-utils (.ci/run does)")


def letter(name: str = "毛正伦", text: str = "该同志积极参加社区志愿服务。") -> LetterDocument:
    return LetterDocument(
        letter_id="L-2025-test", year=2025, member_key="k" * 64, member_name=name,
        sender=LetterParty("wenjiang", "WJ-YQ", "涌泉街道流入党员党支部"),
        recipient=LetterParty("luxian", "LX-YS", "涌水村党支部"),
        performance="遵守纪律，按时参加组织生活，帮助社区销售脐橙。" * 8,
        attendance=LetterAttendance(activities=12, present=8, online=2, excused=1, absent=0,
                                    by_report=1),
        points=24, recommendation=Recommendation.COMMEND, text=text,
        drafted_at="2026-01-05T08:00:00Z")


def pdf_text(data: bytes, tmp_path: Path) -> str:
    assert PDFTOTEXT is not None
    path = tmp_path / "letter.pdf"
    path.write_bytes(data)
    return subprocess.run([PDFTOTEXT, "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


@needs_pdftotext
def test_pdf_reads_back_in_chinese(tmp_path: Path) -> None:
    signed = LetterSignature("wenjiang", "wenjiang-1", datetime(2026, 1, 6, 9, 0, tzinfo=UTC))
    data = render_letter_pdf(letter(), digest="sha256:" + "0" * 64, signature=signed)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data, tmp_path)
    for heading in HEADINGS:
        assert heading in text
    assert "毛正伦" in text and "涌水村党支部" in text and "建议表彰" in text
    assert "参与率 92%" in text            # (8 + 2 + 1) / 12
    assert "wenjiang（密钥 wenjiang-1）于 2026-01-06 09:00 UTC 签署" in text
    assert "（尚未确认）" in text
    assert b"/FontFile3" in data or b"/FontFile2" in data  # the font is embedded


def test_rendering_is_deterministic() -> None:
    assert render_letter_pdf(letter(), digest="d") == render_letter_pdf(letter(), digest="d")


@needs_pdftotext
def test_characters_beyond_the_font_are_shown_not_dropped(tmp_path: Path) -> None:
    rare = "𠀀"  # CJK Extension B, outside GB 2312
    assert missing_characters(f"张{rare}") == rare
    text = pdf_text(render_letter_pdf(letter(name=f"张{rare}"), digest="d"), tmp_path)
    assert "张□" in text


def test_every_demo_name_character_is_in_the_font() -> None:
    from hub.demo import _names

    chars = "".join(_names.SURNAMES + _names.GIVEN_MALE + _names.GIVEN_FEMALE)
    assert missing_characters(chars) == ""
