"""The village ledger files: read back with openpyxl and as GBK text, as a clerk wrote them."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from connectors.idcard import has_valid_check_digit, normalise_id_number
from hub.demo import World
from hub.demo.systems.ledger import HEADERS, TITLE, LedgerFiles, write_ledger


@pytest.fixture(scope="module")
def files(world: World, tmp_path_factory: pytest.TempPathFactory) -> LedgerFiles:
    return write_ledger(world, tmp_path_factory.mktemp("ledger"))


def test_title_is_the_village_ledger() -> None:
    assert TITLE == "涌水村流动党员信息台账"


def test_xlsx_has_title_rows_merged_cells_and_a_blank_row(files: LedgerFiles,
                                                          world: World) -> None:
    wb = openpyxl.load_workbook(files.xlsx)
    ws = wb.worksheets[0]
    assert ws["A1"].value == TITLE
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert "A1:T1" in merged
    assert [c.value for c in ws[3]] == list(HEADERS)
    branch_col = get_column_letter(HEADERS.index("所在党支部") + 1)
    branch_ranges = [r for r in ws.merged_cells.ranges if str(r).startswith(branch_col)]
    assert len(branch_ranges) == 2 and all(r.size["rows"] > 1 for r in branch_ranges)
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    blank = [i for i, r in enumerate(rows) if all(v is None for v in r)]
    assert blank and 0 < blank[0] < len(rows) - 1
    members = list(world.members_in("village_ledger"))
    data = [r for r in rows if r[0] is not None]
    assert [r[0] for r in data] == [m.local_id for m in members]
    row = ws[files.xlsx_rows[members[0].local_id]]
    cells: dict[str, Any] = dict(zip(HEADERS, (c.value for c in row)))
    assert isinstance(cells["出生日期"], dt.datetime)
    assert cells["外出时间"].endswith("月") and cells["性别"] in ("男", "女")
    assert cells["返乡创业意愿"] in ("是", "否")


def test_bad_rows_are_where_the_world_says(files: LedgerFiles, world: World) -> None:
    ws = openpyxl.load_workbook(files.xlsx).worksheets[0]
    col = {h: i for i, h in enumerate(HEADERS)}
    for bad in world.bad_rows("village_ledger"):
        row: list[Any] = [c.value for c in ws[files.xlsx_rows[bad.local_id]]]
        assert row[0] == bad.local_id
        if bad.field == "id_number":
            assert not has_valid_check_digit(normalise_id_number(row[col["身份证号码"]]))
        elif bad.field == "birth_date":
            assert row[col["出生日期"]].endswith("13月")
        elif bad.field == "gender":
            assert row[col["性别"]] not in ("男", "女")
        else:
            assert row[col["姓名"]] in (None, "")


def test_csv_is_gbk_with_a_title_row(files: LedgerFiles, world: World) -> None:
    raw = files.csv.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    lines = list(csv.reader(raw.decode("gbk").splitlines()))
    assert lines[0][0] == TITLE and lines[1] == list(HEADERS)
    ids = [line[0] for line in lines[2:] if any(line)]
    assert ids == [m.local_id for m in world.members_in("village_ledger")]
    assert any(not any(line) for line in lines[2:])  # the blank row
    for local_id, number in files.csv_rows.items():
        assert lines[number - 1][0] == local_id
    first = lines[files.csv_rows[ids[0]] - 1]
    assert first[HEADERS.index("出生日期")].count("/") == 2


def test_rewriting_gives_identical_rows(files: LedgerFiles, world: World,
                                        tmp_path: Path) -> None:
    again = write_ledger(world, tmp_path)
    assert again.csv.read_bytes() == files.csv.read_bytes()
