"""`read_columns` reads a ledger exactly as `LedgerConnector.read` does: the same values for
every row and field, the same issues (code, row, column, masked value), from an .xlsx with
merged cells and numbers in cells, and from a GBK CSV with bad ID numbers, dates, phones and
codes, lower-case x, full-width digits and blank rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.base import ReadRequest
from connectors.ledger import LedgerConnector
from connectors.ledger_columns import read_columns
from connectors.mapping import parse_mapping
from connectors.testing import make_id_number
from tests.connectors.test_ledger import BAD, GOOD, ledger_mapping, write_csv, write_xlsx


def odd_rows() -> list[list[Any]]:
    lower_x = make_id_number(sequence=21)
    full_width = make_id_number(sequence=22).translate(
        {ord(str(d)): chr(0xFF10 + d) for d in range(10)})
    return [
        [6, " 周敏 ", "2", lower_x.lower(), "2016年3月5日", "+86 138-0013-8001", "201603", "510115",
         None, None],
        [7, "吴刚", "男", full_width, "20160305", "(0830)1234567", "2016/3", "泸县", None, None],
        [8, "", "女", "", "", "", "", "", None, None],
        [9, "郑爽", "不详", make_id_number(sequence=23)[:-1], "1990-13-01", "abc", "x", "510521",
         None, "not a time"],
        [10, "王五", "男", make_id_number(sequence=11), "1985年3月", "13800138000", None, None,
         None, None],
        [6, "周敏二", "女", make_id_number(sequence=24), "1991", "13800138002", None, None, None,
         None],
        [None, "无编号", "女", make_id_number(sequence=25), None, None, None, None, None, None],
        # one mistyped digit (the check character no longer fits), with stray spaces
        [11, "钱七", "女", f" {_spoil(make_id_number(sequence=26))} ", "1990-01-01", None,
         None, None, None, None],
    ]


def _spoil(number: str) -> str:
    return number[:15] + ("1" if number[15] != "1" else "2") + number[16:]


def _issues(issues: Any) -> list[tuple[Any, ...]]:
    return sorted((i.code, i.location.where, i.location.row, i.column, i.local_id, i.value,
                   i.message) for i in issues)


async def _agree(connector: LedgerConnector) -> None:
    records, issues, cursor = [], [], None
    while True:
        page = await connector.read(ReadRequest("member", cursor=cursor, page_size=3))
        records += [r for r in page.records if r is not None]
        issues += page.issues
        cursor = page.next_cursor
        if cursor is None:
            break
    columns = await read_columns(connector, "member")
    assert columns.local_ids == [r.local_id for r in records]
    assert columns.rows == [r.location.row for r in records if r.location]
    for name, series in columns.values.items():
        assert series.to_list() == [r.values.get(name) for r in records], name
    assert _issues(columns.issues) == _issues(issues)


async def test_xlsx_reads_alike(tmp_path: Path) -> None:
    write_xlsx(tmp_path / "台账.xlsx", [*GOOD, BAD, *odd_rows()])
    connector = LedgerConnector(parse_mapping(ledger_mapping("台账.xlsx"),
                                              path=tmp_path / "m.toml"))
    await _agree(connector)


async def test_gbk_csv_reads_alike(tmp_path: Path) -> None:
    write_csv(tmp_path / "台账.csv", [*GOOD, BAD, *odd_rows(), [None] * 10], "gb18030")
    mapping = ledger_mapping("台账.csv", encoding="gb18030")
    mapping["entities"]["member"]["fields"]["gender"] = {
        "column": "性别", "codes": {"1": "male", "2": "female"}}
    mapping["entities"]["member"]["fields"]["employer"] = "工作单位"  # not in the file
    connector = LedgerConnector(parse_mapping(mapping, path=tmp_path / "m.toml"))
    await _agree(connector)


async def test_a_missing_file_is_the_connectors_error(tmp_path: Path) -> None:
    import pytest

    from connectors.ledger import LedgerFileError

    connector = LedgerConnector(parse_mapping(ledger_mapping("nowhere.csv", format="csv"),
                                              path=tmp_path / "m.toml"))
    with pytest.raises(LedgerFileError, match="file not found"):
        await read_columns(connector, "member")


async def test_a_repeated_id_in_a_numbered_ledger(tmp_path: Path) -> None:
    """Ids in order (as ledgers are usually numbered): a repeat is found next to its first
    occurrence, and reported as `read` reports it."""
    rows = [[n, "张伟", "男", make_id_number(sequence=30 + i), "1985-03-07", None, None, None,
             None, None] for i, n in enumerate((1, 2, 2, 3, 3, 3, 4))]
    write_csv(tmp_path / "台账.csv", rows, "utf-8")
    connector = LedgerConnector(parse_mapping(ledger_mapping("台账.csv", encoding="utf-8"),
                                              path=tmp_path / "m.toml"))
    await _agree(connector)
    columns = await read_columns(connector, "member")
    repeats = [i for i in columns.issues if "repeats row" in i.message]
    assert [(i.local_id, i.location.row) for i in repeats] == [("2", 6), ("3", 8), ("3", 9)]
