"""The calamine sheet reader gives what openpyxl's read-only `iter_rows` gives, or steps aside
(Unsupported) so the ledger connector reads with openpyxl; through the connector, a ledger
read by either gives the same records and issues."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import connectors.ledger as ledger_module
from connectors._xlsx_calamine import calamine_sheet
from connectors._xlsx_rows import Unsupported
from connectors.base import ReadRequest
from connectors.ledger import LedgerConnector, _sheet_scan
from connectors.mapping import parse_mapping


def _trimmed(rows: list[list[Any]]) -> list[list[Any]]:
    """Rows without trailing None cells and without trailing empty rows."""
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] is None:
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def _openpyxl(path: Path) -> list[list[Any]]:
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return _trimmed([list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)])
    finally:
        workbook.close()


def test_cells_read_as_openpyxl_reads_them(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "台账"
    sheet["A1"] = "涌水村流动党员信息台账"
    sheet["A3"], sheet["B3"], sheet["C3"], sheet["E3"] = "编号", 12, 12.5, True
    sheet["A4"], sheet["B4"], sheet["C4"] = -3, 0.1, "0012"
    sheet["A5"] = datetime(1988, 3, 7)
    sheet["A5"].number_format = "yyyy/m/d"
    sheet["B5"] = date(2016, 3, 1)
    sheet["C5"] = 44000  # a serial day number in a cell without a date format
    sheet["D5"] = "=1+1"  # a formula: no cached value in a file openpyxl wrote
    sheet["E5"] = datetime(2024, 5, 1, 8, 30, 15)
    sheet["A8"] = "  姓名  "  # rows 6 and 7 missing, a gap in the columns too
    sheet["C8"] = False
    path = tmp_path / "types.xlsx"
    workbook.save(path)
    title, rows = calamine_sheet(path, None)
    fast = _trimmed(rows)
    assert title == "台账"
    assert fast == _openpyxl(path)
    assert [type(v) for v in fast[2]] == [str, int, float, type(None), bool]
    assert type(fast[4][0]) is datetime and type(fast[4][1]) is datetime
    assert fast[7] == ["  姓名  ", None, False]
    assert calamine_sheet(path, "台账")[1] == rows


@pytest.mark.parametrize(
    ("value", "number_format"),
    [(time(1, 30), "h:mm"), (time(1, 30), "[h]:mm"), (2**60, "General")],
    ids=["time", "duration", "integer beyond 2**53"],
)
def test_cells_calamine_may_read_differently_step_aside(
    tmp_path: Path, value: Any, number_format: str
) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"] = value
    sheet["A1"].number_format = number_format
    path = tmp_path / "odd.xlsx"
    workbook.save(path)
    with pytest.raises(Unsupported):
        calamine_sheet(path, None)


def test_a_missing_sheet_or_a_file_that_is_no_workbook_steps_aside(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    path = tmp_path / "one.xlsx"
    workbook.save(path)
    with pytest.raises(Unsupported):
        calamine_sheet(path, "没有这个表")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(Unsupported):
        calamine_sheet(broken, None)


MAPPING = """
[source]
name = "village"
kind = "ledger"
side = "origin"
[connection]
file = "{file}"
format = "xlsx"
[entities.member]
local_id = "编号"
required = ["id_number", "name"]
[entities.member.fields]
name = "姓名"
id_number = "身份证号"
birth_date = "出生日期"
phone = "联系电话"
status = {{ column = "状态", codes = {{ "正常" = "in_contact" }} }}
"""


def _ledger(tmp_path: Path, error_cell: bool) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["涌水村流动党员信息台账"])
    sheet.append(["编号", "姓名", "身份证号", "出生日期", "联系电话", "状态"])
    born = datetime(1969, 1, 24)
    sheet.append(["YS1", "李成勇", "511502196901249136", born, 19857710294, "正常"])
    sheet.append(["YS2", "徐勇鹏", "510521198601052071", "1986年1月", "1668751374", "失联"])
    sheet.append([3, "", "51052119860105207X", 44000, None, "正常"])
    sheet.append([None, "无编号", None, None, None, None])
    if error_cell:
        sheet["D4"] = "#N/A"
        sheet["D4"].data_type = "e"
    path = tmp_path / f"ledger-{error_cell}.xlsx"
    workbook.save(path)
    return path


async def _read_all(path: Path) -> tuple[list[Any], list[Any]]:
    raw = tomllib.loads(MAPPING.format(file=path.as_posix()))
    connector = LedgerConnector(parse_mapping(raw, path=path.parent / "m.toml"))
    result = await connector.read(ReadRequest(entity="member", page_size=100))
    records = [(r.local_id, dict(r.values), r.location) for r in result.records if r]
    return records, result.issues


def _no_calamine(path: Path, sheet: str | None) -> tuple[str, list[list[Any]]]:
    raise Unsupported("this test reads with openpyxl")


@pytest.mark.parametrize("error_cell", [False, True], ids=["plain", "with an error cell"])
async def test_the_connector_reads_the_same_records_and_issues_either_way(
    tmp_path: Path, error_cell: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _ledger(tmp_path, error_cell)
    assert _sheet_scan(path, None)[1] is error_cell
    fast = await _read_all(path)
    monkeypatch.setattr(ledger_module, "calamine_sheet", _no_calamine)
    slow = await _read_all(path)
    assert fast == slow
    records, issues = fast
    assert [r[0] for r in records] == ["YS1", "YS2", "3"]
    codes = sorted(i.code for i in issues)
    assert "MISSING_KEY" in codes and "INVALID_ID_NUMBER" in codes
    if error_cell:  # openpyxl's text of the error cell, reported as a bad date
        assert any(i.code == "INVALID_DATE" and i.local_id == "YS2" for i in issues)
