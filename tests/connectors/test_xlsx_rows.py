"""The fast sheet reader gives exactly what openpyxl's read-only `iter_rows` gives, or steps
aside (Unsupported) so the ledger connector falls back to it."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.cell import WriteOnlyCell

from connectors._xlsx_rows import Unsupported, sheet_rows


def _trimmed(rows: list[list[Any]]) -> list[list[Any]]:
    """Rows without trailing None cells and without trailing empty rows (iter_rows pads every
    row to the sheet's width; sheet_rows does not)."""
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] is None:
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def _both(path: Path) -> tuple[list[list[Any]], list[list[Any]]]:
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        slow = [list(r) for r in sheet.iter_rows(values_only=True)]
        fast = sheet_rows(sheet)
    finally:
        workbook.close()
    return _trimmed(slow), _trimmed(fast)


def test_every_cell_type_reads_as_openpyxl_reads_it(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()  # shared strings, as Excel writes them
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"] = "涌水村流动党员信息台账"
    sheet["A3"], sheet["B3"], sheet["C3"], sheet["E3"] = "编号", 12, 12.5, True
    sheet["A4"], sheet["B4"] = 510521199001010017, 1e20
    sheet["A5"] = datetime(1988, 3, 7)
    sheet["A5"].number_format = "yyyy/m/d"
    sheet["B5"] = date(2016, 3, 1)
    sheet["C5"] = 44000  # a serial day number in a cell without a date format
    sheet["D5"] = "=1+1"  # a formula: no cached value in a file openpyxl wrote
    sheet["A8"] = "  姓名  "  # rows 6 and 7 missing, a gap in the columns too
    sheet["C8"] = False
    path = tmp_path / "types.xlsx"
    workbook.save(path)
    slow, fast = _both(path)
    assert fast == slow
    assert fast[4][0] == datetime(1988, 3, 7) and fast[7] == ["  姓名  ", None, False]


def test_inline_strings_and_merged_layout_of_a_write_only_workbook(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("台账")
    sheet.append(["标题"])
    sheet.append([])
    born = WriteOnlyCell(sheet, value=datetime(1990, 1, 1))
    born.number_format = "yyyy-mm-dd"
    sheet.append(["YS001", None, born, 3.0, "是"])
    path = tmp_path / "inline.xlsx"
    workbook.save(path)
    slow, fast = _both(path)
    assert fast == slow and fast[2][0] == "YS001" and fast[1] == []


def test_a_duration_style_falls_back_to_openpyxl(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"] = time(1, 30)
    sheet["A1"].number_format = "[h]:mm"
    path = tmp_path / "duration.xlsx"
    workbook.save(path)
    loaded = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        with pytest.raises(Unsupported):
            sheet_rows(loaded.worksheets[0])
    finally:
        loaded.close()
