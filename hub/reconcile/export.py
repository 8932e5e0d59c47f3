"""Exports of a report: an XLSX workbook for officials and a JSON file.

The workbook has a summary sheet (汇总) first — inputs, parameters, counts, signatures — then
one sheet per category with Chinese names and headers, whatever rows the reader may see (a
party's export holds its own view, hub.reconcile.privacy). openpyxl's write-only mode streams
rows, so a province's 250,000 rows do not sit in memory as cells.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from hub.reconcile.matching import CATEGORIES

__all__ = ["SHEET_NAMES", "CATEGORY_TERMS", "write_xlsx", "write_json"]

#: category -> its sheet name (Excel: at most 31 characters, none of []:*?/\)
SHEET_NAMES: Mapping[str, str] = {
    "matched": "一致",
    "differing": "字段不一致",
    "status_conflict": "状态冲突",
    "origin_only": "仅流出地有（流入地未掌握）",
    "destination_only": "仅流入地有（流出地无记录）",
    "candidate": "疑似匹配待确认",
    "duplicate": "同方重复",
    "bad_row": "问题行",
}
#: category -> the term used in the summary and in GraphQL descriptions
CATEGORY_TERMS: Mapping[str, str] = {
    "matched": "匹配且一致", "differing": "匹配但字段不一致", "status_conflict": "联系状态冲突",
    "origin_only": "外出，流入地未掌握", "destination_only": "流入地发现，流出地无记录",
    "candidate": "疑似匹配（待人工确认）", "duplicate": "同一方重复记录",
    "bad_row": "问题行（已报告并保留）",
}
_FIELD_TERMS = {
    "source": "系统", "local_id": "记录编号", "row": "行号", "name": "姓名", "gender": "性别",
    "birth_date": "出生日期", "phone": "联系电话", "status": "联系状态",
    "origin_org_id": "组织关系所在党组织", "origin_region_code": "流出地",
    "destination_region_code": "流入地", "destination_org_id": "流入地党组织",
    "updated_at": "更新时间",
}
_SIDE_COLUMNS = ("source", "local_id", "row", "name", "gender", "birth_date", "phone", "status",
                 "origin_org_id", "origin_region_code", "destination_region_code",
                 "destination_org_id")
_AUTHORITY = {"origin": "流出地", "destination": "流入地", "newest": "较新者"}


def _pair_header() -> list[str]:
    return (["成员键", "匹配方式", "匹配度（‰）", "理由", "不一致字段（以哪方为准）"]
            + [f"流出地·{_FIELD_TERMS[c]}" for c in _SIDE_COLUMNS]
            + [f"流入地·{_FIELD_TERMS[c]}" for c in _SIDE_COLUMNS])


def _pair_cells(row: Mapping[str, Any]) -> list[Any]:
    differences = "；".join(
        f"{_FIELD_TERMS.get(d['field'], d['field'])}：{d.get('origin')} / "
        f"{d.get('destination')}（以{_AUTHORITY.get(d['authority'], d['authority'])}为准）"
        for d in row.get("differences") or ())
    via = {"id": "身份证号", "confirmed": "人工确认"}.get(row.get("via") or "", "")
    cells: list[Any] = [row.get("key") or row.get("pair"), via, row.get("score"),
                        " ".join(row.get("reasons") or ()), differences]
    for side in ("origin", "destination"):
        part = row.get(side) or {}
        cells.extend(part.get(c) for c in _SIDE_COLUMNS)
    return cells


_BAD_HEADER = ["所在方", "文件或来源", "行号", "列", "问题代码", "说明", "记录编号"]


def _bad_cells(row: Mapping[str, Any]) -> list[Any]:
    return [_AUTHORITY.get(row.get("side", ""), row.get("side")), row.get("where"),
            row.get("row"), row.get("column"), row.get("code"), row.get("message"),
            row.get("local_id")]


def _summary(document: Mapping[str, Any], signers: Sequence[str]) -> list[list[Any]]:
    params = document["parameters"]
    lines: list[list[Any]] = [
        ["雁行 双向对账报告", document["id"]],
        ["协议", document["contract"].get("id"), document["contract"].get("digest")],
        ["流出地", document["parties"]["origin"]],
        ["流入地", document["parties"]["destination"]],
        ["期间", params["period"]],
        ["范围", json.dumps(params["scope"], ensure_ascii=False, sort_keys=True)],
        ["生成时间", document["created_at"]],
        [],
        ["输入", "名称", "摘要", "行数", "范围内", "范围外", "问题行"],
    ]
    for side, term in (("origin", "流出地台账"), ("destination", "流入地台账")):
        i = document["inputs"][side]
        lines.append([term, i["label"], i["digest"], i["rows"], i["in_scope"],
                      i["out_of_scope"], i["bad_rows"]])
    lines += [[], ["类别", "说明", "数量", "行摘要"]]
    for c in CATEGORIES:
        lines.append([SHEET_NAMES[c], CATEGORY_TERMS[c], document["counts"][c],
                      document["rows"][c]])
    lines += [[], ["签名方"], *([s] for s in signers)]
    return lines


def write_xlsx(path: Path, document: Mapping[str, Any],
               rows: Mapping[str, Sequence[Mapping[str, Any]]], *,
               signers: Sequence[str] = ()) -> Path:
    """Write the workbook: 汇总 first, then one sheet per category (header row only when the
    reader sees no rows of it)."""
    book = Workbook(write_only=True)
    summary = book.create_sheet("汇总")
    for line in _summary(document, signers):
        summary.append(line)
    for category in CATEGORIES:
        sheet = book.create_sheet(SHEET_NAMES[category])
        bad = category == "bad_row"
        sheet.append(_BAD_HEADER if bad else _pair_header())
        for row in rows.get(category, ()):
            sheet.append(_bad_cells(row) if bad else _pair_cells(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def write_json(path: Path, document: Mapping[str, Any], envelope: Mapping[str, Any] | None,
               rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> Path:
    """{"report": the signed envelope (or the unsigned document), "rows": per category}."""
    body = {"report": envelope if envelope is not None else document,
            "rows": {c: list(rows.get(c, ())) for c in CATEGORIES}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
