"""Render an evaluation letter (年终发函) as a PDF in Chinese, for the origin's files.

The font is embedded: a subset of Noto Sans SC Regular (SIL Open Font License 1.1, see
`hub/exchange/fonts/README.md`) holding all of GB 2312 plus ASCII and CJK punctuation, so the
PDF opens with Chinese text on any reader and `pdftotext` reads it back. fpdf2 embeds only the
glyphs a letter uses. A character outside the subset (a rare name character beyond GB 2312)
is printed as "□" rather than silently dropped, and `missing_characters` tells which.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # ships no stubs
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from hub.clock import parse_time
from hub.exchange.letter_document import RECOMMENDATION_LABELS, LetterDocument

__all__ = ["FONT_RESOURCE", "HEADINGS", "LetterSignature", "render_letter_pdf",
           "missing_characters"]

FONT_RESOURCE: Traversable = resources.files("hub") / "exchange" / "fonts" / \
    "NotoSansSC-Regular-GB2312.otf"
_FONT = "NotoSansSC"
_MISSING = "□"

#: the section headings every letter carries, in order (tests read them back with pdftotext)
HEADINGS: tuple[str, ...] = (
    "流动党员年度表现情况函", "党员基本情况", "日常表现", "组织生活参加情况", "积分",
    "奖惩建议", "其他说明", "签署与确认",
)


@dataclass(frozen=True, slots=True)
class LetterSignature:
    """A verified signature shown on the letter: who signed, with which key, when."""

    party: str
    kid: str
    signed_at: datetime


@functools.cache
def _font_path() -> Path:
    """A file path for the packaged font (fpdf2 reads fonts from paths only); an installed
    wheel is a directory, so this is the file itself, extracted once if ever zipped."""
    stack = contextlib.ExitStack()
    atexit.register(stack.close)
    return stack.enter_context(resources.as_file(FONT_RESOURCE))


@functools.cache
def _covered() -> frozenset[int]:
    with FONT_RESOURCE.open("rb") as handle:
        font = TTFont(handle, lazy=True)
        cmap = font.getBestCmap()
        return frozenset(cmap) if cmap else frozenset()


def missing_characters(text: str) -> str:
    """Characters of `text` the embedded font cannot show (printed as "□")."""
    covered = _covered()
    return "".join(sorted({c for c in text if ord(c) not in covered and c not in "\n\t"}))


def _printable(text: str) -> str:
    covered = _covered()
    return "".join(c if ord(c) in covered or c == "\n" else _MISSING
                   for c in text.replace("\t", "    "))


class _LetterPdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(_FONT, size=8)
        self.cell(0, 8, _printable(f"{self._footer_text}    第 {self.page_no()} 页"),
                  align="C")


def _label(signature: LetterSignature | None, when_missing: str) -> str:
    if signature is None:
        return when_missing
    return (f"{signature.party}（密钥 {signature.kid}）于 "
            f"{signature.signed_at.strftime('%Y-%m-%d %H:%M UTC')} 签署")


def render_letter_pdf(
    document: LetterDocument, *, digest: str, signature: LetterSignature | None = None,
    acknowledgement: LetterSignature | None = None,
) -> bytes:
    """The letter as PDF bytes. `digest`: sha256 of the signed payload, printed in the footer
    so a printed copy can be matched to the ledger entry. Deterministic: the same letter and
    signatures give the same bytes (the creation date is the drafting time)."""
    pdf = _LetterPdf(f"雁行 · 函号 {document.letter_id} · {digest}")
    pdf.set_creation_date(parse_time(document.drafted_at))
    pdf.set_title(_printable(f"{document.year}年度流动党员表现情况函"))
    pdf.set_author(document.sender.party)
    pdf.add_font(_FONT, "", fname=_font_path())
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()

    def heading(text: str) -> None:
        pdf.ln(3)
        pdf.set_font(_FONT, size=13)
        pdf.cell(0, 9, _printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(_FONT, size=11)

    def para(text: str) -> None:
        pdf.multi_cell(0, 7, _printable(text or "（无）"), wrapmode=WrapMode.CHAR,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.set_font(_FONT, size=18)
    pdf.cell(0, 12, _printable(HEADINGS[0]), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FONT, size=11)
    pdf.cell(0, 7, _printable(f"（{document.year}年度 · 年终发函）"), align="C",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    recipient = document.recipient.organization_name or document.recipient.organization or \
        document.recipient.party
    sender = document.sender.organization_name or document.sender.organization or \
        document.sender.party
    para(f"致：{recipient}")
    para(f"来函单位：{sender}")

    heading(HEADINGS[1])
    para(f"姓名：{document.member_name or '（未知）'}\n成员键：{document.member_key}")
    heading(HEADINGS[2])
    para(document.performance)
    heading(HEADINGS[3])
    att = document.attendance
    rate = f"{att.participated / att.activities:.0%}" if att.activities else "—"
    para(f"应参加活动 {att.activities} 次：现场参加 {att.present} 次，线上参加 {att.online} "
         f"次，以报告方式参加 {att.by_report} 次，请假 {att.excused} 次，缺席 {att.absent} "
         f"次；参与率 {rate}。")
    heading(HEADINGS[4])
    para("本年度积分：" + (str(document.points) if document.points is not None
                       else "（积分台账尚无记录）"))
    heading(HEADINGS[5])
    para(RECOMMENDATION_LABELS[document.recommendation])
    heading(HEADINGS[6])
    para(document.text)
    heading(HEADINGS[7])
    para("流入地党组织签署：" + _label(signature, "（尚未签署）"))
    para("流出地党组织确认：" + _label(acknowledgement, "（尚未确认）"))
    para(f"起草时间：{document.drafted_at}")
    return bytes(pdf.output())
