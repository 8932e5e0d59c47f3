"""Ledger connector against real files: an .xlsx with a title row and merged 党支部 cells, and
a GBK CSV, both written here; bad rows, wrong encodings and missing columns."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from connectors.base import PartialDate, ReadRequest
from connectors.errors import ConnectorConfigError, SourceInvalid
from connectors.ledger import LedgerConnector, LedgerFileError
from connectors.mapping import parse_mapping
from connectors.testing import CaseConfig, connector_test_class, make_id_number, read_all

HEADER = [
    "序号",
    "姓名",
    "性别",
    "身份证号",
    "出生日期",
    "联系电话",
    "外出时间",
    "现居住地",
    "党支部",
    "更新时间",
]
GOOD = [
    [
        1,
        "张伟",
        "男",
        make_id_number(sequence=11),
        "1985年3月",
        "13800138000",
        "2016年3月",
        "温江区",
        "涌水村党支部",
        "2024-05-01 08:00:00",
    ],
    [
        2,
        "李娜",
        "女",
        make_id_number(sequence=12),
        "19850307",
        "139 0013 9000",
        "20170501",
        "深圳市",
        None,
        "2024-05-02 08:00:00",
    ],
    [
        3,
        "王芳",
        "女",
        make_id_number(sequence=14),
        "1985-03-07",
        "13700137000",
        "2018.06",
        "东莞",
        None,
        "2024-05-03 08:00:00",
    ],
]
BAD = [
    4,
    "赵强",
    "男",
    "510521198503070000",
    "1985-02-30",
    "12",
    "去年",
    "火星",
    None,
    "2024-05-04 08:00:00",
]


def ledger_mapping(file: str, **connection: Any) -> dict[str, Any]:
    return {
        "source": {
            "name": "yongshui",
            "kind": "ledger",
            "title": "涌水村流动党员信息台账",
            "side": "origin",
        },
        "connection": {"file": file, "timezone": "+08:00", **connection},
        "entities": {
            "member": {
                "local_id": "序号",
                "required": ["id_number", "name"],
                "fields": {
                    "name": "姓名",
                    "gender": "性别",
                    "id_number": "身份证号",
                    "birth_date": "出生日期",
                    "phone": "联系电话",
                    "destination_since": "外出时间",
                    "destination_region_code": "现居住地",
                    "origin_org_name": "党支部",
                    "updated_at": "更新时间",
                },
            }
        },
    }


def write_xlsx(path: Path, rows: list[list[Any]]) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.worksheets[0]
    sheet.title = "台账"
    sheet.append(["涌水村流动党员信息台账（2024年）"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    sheet.append([None] * len(HEADER))  # a blank row in the middle
    sheet.append(
        [
            5,
            "陈静",
            "女",
            make_id_number(sequence=16),
            "1990-01-01",
            None,
            "2019年",
            "上城区",
            None,
            None,
        ]
    )
    branch = HEADER.index("党支部") + 1
    sheet.merge_cells(start_row=3, start_column=branch, end_row=2 + len(rows), end_column=branch)
    workbook.save(path)


def write_csv(path: Path, rows: list[list[Any]], encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["涌水村流动党员信息台账"])
    writer.writerow([])
    writer.writerow(HEADER)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


async def open_xlsx(tmp_path: Path) -> LedgerConnector:
    write_xlsx(tmp_path / "台账.xlsx", [*GOOD, BAD])
    return LedgerConnector(parse_mapping(ledger_mapping("台账.xlsx"), path=tmp_path / "m.toml"))


async def open_gbk_csv(tmp_path: Path) -> LedgerConnector:
    write_csv(tmp_path / "台账.csv", [*GOOD, BAD], "gbk")
    return LedgerConnector(
        parse_mapping(ledger_mapping("台账.csv", encoding="gbk"), path=tmp_path / "m.toml")
    )


async def open_missing_file(tmp_path: Path) -> LedgerConnector:
    return LedgerConnector(parse_mapping(ledger_mapping("nowhere.xlsx"), path=tmp_path / "m.toml"))


TestXlsxLedgerConformance = connector_test_class(
    open_xlsx,
    expected_count=5,
    expect_issues=True,
    bad_factory=open_missing_file,
    name="TestXlsxLedgerConformance",
)
TestGbkCsvLedgerConformance = connector_test_class(
    open_gbk_csv, expected_count=4, expect_issues=True, name="TestGbkCsvLedgerConformance"
)


async def test_xlsx_values_title_row_and_merged_cells(tmp_path: Path) -> None:
    async with await open_xlsx(tmp_path) as ledger:
        result = await ledger.read(ReadRequest("member"))
    by_id = {r.local_id: r for r in result.records if r}
    assert set(by_id) == {"1", "2", "3", "4", "5"}
    first = by_id["1"].values
    assert first["birth_date"] == PartialDate(1985, 3)
    assert first["destination_since"] == PartialDate(2016, 3)
    assert first["gender"] == "male" and first["destination_region_code"] == "510115"
    assert by_id["2"].values["phone"] == "13900139000"
    # the merged 党支部 cell applies to every row it covers, not only the first
    assert {by_id[k].values["origin_org_name"] for k in "1234"} == {"涌水村党支部"}
    assert by_id["5"].values["origin_org_name"] is None
    assert by_id["1"].location is not None and by_id["1"].location.row == 3  # as in Excel
    assert by_id["5"].location is not None and by_id["5"].location.row == 8  # blank row 7 skipped
    assert str(by_id["1"].values["updated_at"]) == "2024-05-01 00:00:00+00:00"  # +08:00 source


async def test_bad_row_issues_name_file_row_and_column(tmp_path: Path) -> None:
    async with await open_xlsx(tmp_path) as ledger:
        result = await ledger.read(ReadRequest("member"))
    bad = next(r for r in result.records if r and r.local_id == "4")
    assert bad.values["id_number"] is None and bad.values["name"] == "赵强"
    issues = {(i.code, i.column): i for i in result.issues}
    assert set(issues) >= {
        ("INVALID_ID_NUMBER", "身份证号"),
        ("INVALID_DATE", "出生日期"),
        ("INVALID_VALUE", "联系电话"),
        ("INVALID_DATE", "外出时间"),
        ("UNKNOWN_CODE", "现居住地"),
    }
    # an invalid required value is reported once, as invalid, not again as missing
    assert ("MISSING_VALUE", "身份证号") not in issues
    id_issue = issues[("INVALID_ID_NUMBER", "身份证号")]
    assert id_issue.location.where == "台账.xlsx:台账" and id_issue.location.row == 6
    assert id_issue.local_id == "4"
    assert id_issue.value == "510521********0000"  # masked, never the raw number
    assert "check digit" in id_issue.message


async def test_csv_in_every_encoding(tmp_path: Path) -> None:
    for encoding, declared in (
        ("utf-8-sig", "utf-8"),
        ("utf-8", "utf-8"),
        ("gbk", "gbk"),
        ("gb18030", "gb18030"),
    ):
        write_csv(tmp_path / "l.csv", GOOD, encoding)
        mapping = parse_mapping(
            ledger_mapping("l.csv", encoding=declared), path=tmp_path / "m.toml"
        )
        async with LedgerConnector(mapping) as ledger:
            result = await ledger.read(ReadRequest("member"))
        assert [r.values["name"] for r in result.records if r] == ["张伟", "李娜", "王芳"], encoding


async def test_wrong_encoding_names_file_and_suggests_one(tmp_path: Path) -> None:
    write_csv(tmp_path / "l.csv", GOOD, "gbk")
    mapping = parse_mapping(ledger_mapping("l.csv"), path=tmp_path / "m.toml")
    async with LedgerConnector(mapping) as ledger:
        with pytest.raises(LedgerFileError) as caught:
            await ledger.read(ReadRequest("member"))
    assert "l.csv" in str(caught.value) and 'encoding = "gbk"' in str(caught.value)
    assert isinstance(caught.value, ConnectorConfigError) and isinstance(
        caught.value, SourceInvalid
    )

    write_csv(tmp_path / "bom.csv", GOOD, "utf-8-sig")
    mapping = parse_mapping(ledger_mapping("bom.csv", encoding="gbk"), path=tmp_path / "m.toml")
    async with LedgerConnector(mapping) as ledger:
        with pytest.raises(LedgerFileError, match='encoding = "utf-8"'):
            await ledger.read(ReadRequest("member"))


async def test_missing_required_column_is_a_file_error(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.worksheets[0].append(["序号", "姓名"])  # no 身份证号 column
    workbook.worksheets[0].append([1, "张伟"])
    workbook.save(tmp_path / "l.xlsx")
    mapping = parse_mapping(ledger_mapping("l.xlsx"), path=tmp_path / "m.toml")
    async with LedgerConnector(mapping) as ledger:
        with pytest.raises(LedgerFileError) as caught:
            await ledger.read(ReadRequest("member"))
    assert "l.xlsx" in str(caught.value) and "身份证号" in str(caught.value)


async def test_missing_optional_column_is_one_issue(tmp_path: Path) -> None:
    rows = [[r[0], r[1], r[3]] for r in GOOD]
    workbook = openpyxl.Workbook()
    workbook.worksheets[0].append(["序号", "姓名", "身份证号"])
    for row in rows:
        workbook.worksheets[0].append(row)
    workbook.save(tmp_path / "l.xlsx")
    async with LedgerConnector(
        parse_mapping(ledger_mapping("l.xlsx"), path=tmp_path / "m.toml")
    ) as ledger:
        records, issues = await read_all(ledger, CaseConfig())
    assert len(records) == 3 and all(r.values["phone"] is None for r in records)
    missing = [i for i in issues if i.code == "MISSING_COLUMN"]
    assert {i.column for i in missing} == {
        "性别",
        "出生日期",
        "联系电话",
        "外出时间",
        "现居住地",
        "党支部",
        "更新时间",
    }


async def test_explicit_header_row_and_sheet(tmp_path: Path) -> None:
    write_xlsx(tmp_path / "l.xlsx", GOOD)
    raw = ledger_mapping("l.xlsx", header_row=2, sheet="台账")
    async with LedgerConnector(parse_mapping(raw, path=tmp_path / "m.toml")) as ledger:
        assert len((await ledger.read(ReadRequest("member"))).records) == 4
    raw = ledger_mapping("l.xlsx", header_row=1)
    async with LedgerConnector(parse_mapping(raw, path=tmp_path / "m.toml")) as ledger:
        with pytest.raises(LedgerFileError, match="header row 1 has no column 序号"):
            await ledger.read(ReadRequest("member"))
    raw = ledger_mapping("l.xlsx", sheet="Sheet9")
    async with LedgerConnector(parse_mapping(raw, path=tmp_path / "m.toml")) as ledger:
        with pytest.raises(LedgerFileError, match="no sheet 'Sheet9'"):
            await ledger.read(ReadRequest("member"))


async def test_cache_is_reused_and_refreshed_when_file_changes(tmp_path: Path) -> None:
    write_csv(tmp_path / "l.csv", GOOD, "utf-8")
    async with LedgerConnector(
        parse_mapping(ledger_mapping("l.csv"), path=tmp_path / "m.toml")
    ) as ledger:
        await ledger.read(ReadRequest("member", keys=["1"]))
        table = ledger._cache["member"][1]
        await ledger.read(ReadRequest("member", keys=["2"]))
        assert ledger._cache["member"][1] is table  # not re-parsed
        write_csv(
            tmp_path / "l.csv",
            [*GOOD, [9, "新人", "男", make_id_number(sequence=21), *[None] * 6]],
            "utf-8",
        )
        result = await ledger.read(ReadRequest("member", keys=["9", "1"]))
        assert [r.values["name"] if r else None for r in result.records] == ["新人", "张伟"]


async def test_not_an_xlsx_file(tmp_path: Path) -> None:
    (tmp_path / "l.xlsx").write_text("not a zip")
    async with LedgerConnector(
        parse_mapping(ledger_mapping("l.xlsx"), path=tmp_path / "m.toml")
    ) as ledger:
        with pytest.raises(LedgerFileError, match=r"not a readable .xlsx"):
            await ledger.read(ReadRequest("member"))


async def test_without_updated_at_no_read_changes(tmp_path: Path) -> None:
    raw = ledger_mapping("l.csv")
    del raw["entities"]["member"]["fields"]["updated_at"]
    ledger = LedgerConnector(parse_mapping(raw, path=tmp_path / "m.toml"))
    assert "read_changes" not in {c.value for c in ledger.capabilities}


async def test_blank_required_value_is_missing_value(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "l.csv", [[7, "  ", "男", make_id_number(sequence=31)] + [None] * 6], "utf-8"
    )
    async with LedgerConnector(
        parse_mapping(ledger_mapping("l.csv"), path=tmp_path / "m.toml")
    ) as ledger:
        result = await ledger.read(ReadRequest("member"))
    assert result.records[0] is not None and result.records[0].values["name"] is None
    assert [
        (i.code, i.column, i.location.row) for i in result.issues if i.code != "MISSING_COLUMN"
    ] == [("MISSING_VALUE", "姓名", 4)]


async def test_row_without_local_id_is_missing_key(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "l.csv",
        [*GOOD, [None, "无号", "男", make_id_number(sequence=33), *[None] * 6]],
        "utf-8",
    )
    async with LedgerConnector(
        parse_mapping(ledger_mapping("l.csv"), path=tmp_path / "m.toml")
    ) as ledger:
        records, issues = await read_all(ledger, CaseConfig())
    assert len(records) == 3
    assert [(i.code, i.location.row) for i in issues] == [("MISSING_KEY", 7)]
