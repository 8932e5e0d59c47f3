"""涌水村流动党员信息台账: the village's Excel ledger, written as .xlsx and as a GBK CSV.

Kept by the village branch secretary by hand, so it looks like it: a merged title row and a
「填报单位」 line above the Chinese header row, the branch name and code as one merged cell
down the column, a blank row in the middle, 出生日期 as real Excel date cells (as 1988/3/7
in the CSV), 外出时间 as 2016年3月, 男/女 and 是/否. Origin side: the phone, address and
employer are what the member last told the village, which may be out of date.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from hub.demo._idcard import corrupt_check_char
from hub.demo.generator import World
from hub.demo.model import Defect, Organization, SystemMember
from hub.demo.places import ORG_BY_ID, REGION_NAMES, YONGSHUI_VILLAGE

__all__ = ["HEADERS", "SYSTEM", "TITLE", "SUBTITLE", "LedgerFiles", "write_ledger", "ledger_rows",
           "ledger_cells"]

SYSTEM = "village_ledger"
_VILLAGE = ORG_BY_ID[YONGSHUI_VILLAGE]
TITLE = f"{_VILLAGE.name.removesuffix('党支部')}流动党员信息台账"
SUBTITLE = f"填报单位：泸县云锦镇{_VILLAGE.name}　　　填报日期：2024年6月"
HEADERS: tuple[str, ...] = (
    "编号", "姓名", "性别", "身份证号码", "出生日期", "联系电话", "所在党支部", "党组织编码",
    "外出时间", "流入地", "现居住地址", "工作单位", "从事职业", "流入地党组织", "党组织负责人",
    "负责人电话", "联系状态", "返乡创业意愿", "担任村干部意愿", "更新日期",
)
_STATUS = {"in_contact": "正常联系", "lost_contact": "失联", "returned": "已返乡",
           "transferred_out": "已转出"}
_MERGED = ("所在党支部", "党组织编码")
_CST = timezone(timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class LedgerFiles:
    xlsx: Path
    csv: Path
    #: local id (编号) -> the 1-based spreadsheet row of that member in the .xlsx
    xlsx_rows: dict[str, int]
    #: local id -> the 1-based line of that member in the CSV
    csv_rows: dict[str, int]


def _yes(value: bool) -> str:
    return "是" if value else "否"


def ledger_rows(world: World) -> Iterator[tuple[SystemMember, dict[str, Any]]]:
    """Each member's cells by header, defects applied; 出生日期 is a `date` (Excel date cell)."""
    organizations = {o.org_id: o for o in world.organizations()}
    for m in world.members_in(SYSTEM):
        yield m, ledger_cells(m, organizations)


def ledger_cells(m: SystemMember, organizations: Mapping[str, Organization]) -> dict[str, Any]:
    """One member's row of the ledger by header, its planted defect applied (`organizations`
    by id: the destination branch's name and secretary). bench/sync_scale.py writes a
    province's ledger from these."""
    p = m.person
    dest_org = organizations[p.destination_org_id]
    cells: dict[str, Any] = {
        "编号": m.local_id,
        "姓名": p.name,
        "性别": "男" if p.gender == "male" else "女",
        "身份证号码": p.id_number,
        "出生日期": p.birth_date,
        "联系电话": p.origin_phone,
        "所在党支部": _VILLAGE.name,
        "党组织编码": _VILLAGE.org_id,
        "外出时间": f"{p.destination_since.year}年{p.destination_since.month}月",
        "流入地": REGION_NAMES[p.destination_region_code],
        "现居住地址": p.origin_address,
        "工作单位": p.origin_employer,
        "从事职业": p.occupation,
        "流入地党组织": dest_org.name,
        "党组织负责人": dest_org.secretary,
        "负责人电话": dest_org.contact_phone,
        "联系状态": _STATUS[p.status],
        "返乡创业意愿": _yes(p.intends_return_business),
        "担任村干部意愿": _yes(p.willing_village_cadre),
        "更新日期": p.origin_updated_at.astimezone(_CST).date().isoformat(),
    }
    if m.defect is Defect.INVALID_ID_NUMBER:
        cells["身份证号码"] = corrupt_check_char(p.id_number)
    elif m.defect is Defect.INVALID_DATE:
        cells["出生日期"] = f"{p.birth_date.year}年13月"
    elif m.defect is Defect.UNKNOWN_CODE:
        cells["性别"] = "1"  # a code typed into a 男/女 column
    elif m.defect is Defect.MISSING_VALUE:
        cells["姓名"] = ""
    return cells


def write_ledger(world: World, directory: Path, stem: str = "yongshui_ledger") -> LedgerFiles:
    """Write `{stem}.xlsx` and `{stem}.csv` (GBK) into `directory`; both hold the same rows."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = list(ledger_rows(world))
    blank_after = max(1, len(rows) // 2)  # a blank row in the middle, as people leave them

    wb = Workbook()
    ws = wb.worksheets[0]  # a new workbook holds exactly one sheet, the active one
    ws.title = "流动党员台账"
    width = len(HEADERS)
    ws.cell(row=1, column=1, value=TITLE).font = Font(bold=True, size=16)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(row=2, column=1, value=SUBTITLE)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    for col, header in enumerate(HEADERS, start=1):
        ws.cell(row=3, column=col, value=header).font = Font(bold=True)
    xlsx_rows: dict[str, int] = {}
    row_no = 4
    blocks: list[tuple[int, int]] = []
    block_start = row_no
    for n, (m, cells) in enumerate(rows, start=1):
        for col, header in enumerate(HEADERS, start=1):
            if header in _MERGED and row_no != block_start:
                continue  # only the top-left cell of a merged range holds the value
            cell = ws.cell(row=row_no, column=col, value=cells[header])
            if header == "出生日期" and not isinstance(cells[header], str):
                cell.number_format = "yyyy/m/d"
        xlsx_rows[m.local_id] = row_no
        row_no += 1
        if n == blank_after or n == len(rows):
            blocks.append((block_start, row_no - 1))
            row_no += 1  # the blank row
            block_start = row_no
    for header in _MERGED:
        col = HEADERS.index(header) + 1
        for first, last in blocks:
            if last > first:
                ws.merge_cells(start_row=first, start_column=col, end_row=last, end_column=col)
    xlsx_path = directory / f"{stem}.xlsx"
    wb.save(xlsx_path)

    csv_path = directory / f"{stem}.csv"
    csv_rows: dict[str, int] = {}
    with csv_path.open("w", encoding="gbk", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([TITLE] + [""] * (width - 1))
        writer.writerow(HEADERS)
        line = 3
        for n, (m, cells) in enumerate(rows, start=1):
            values = dict(cells)
            if not isinstance(values["出生日期"], str):
                d = values["出生日期"]
                values["出生日期"] = f"{d.year}/{d.month}/{d.day}"
            writer.writerow([values[h] for h in HEADERS])
            csv_rows[m.local_id] = line
            line += 1
            if n == blank_after:
                writer.writerow([""] * width)
                line += 1
    return LedgerFiles(xlsx_path, csv_path, xlsx_rows, csv_rows)
