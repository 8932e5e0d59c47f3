"""`yanxing reconcile` from real files: a GBK CSV (origin) against an XLSX (destination), the
XLSX report opened again with its Chinese sheets, and bad files refused with exit 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
import pytest

from hub.cli import main
from hub.reconcile.export import SHEET_NAMES
from hub.reconcile.report import rows_digest
from tests.api.conftest import id_number
from tests.reconcile.test_reconcile_api import MAPPING, ledger_csv

DESTINATION_MAPPING = MAPPING.replace('name = "luxian_upload"', 'name = "wenjiang_upload"') \
    .replace('side = "origin"', 'side = "destination"').replace('format = "csv"',
                                                               'format = "xlsx"') \
    .replace('origin_region_code = "流出地"', 'destination_region_code = "流入地"')


def destination_xlsx(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.worksheets[0]
    sheet.append(["温江区涌泉街道流入党员台账"])
    sheet.append(["编号", "姓名", "身份证号码", "出生日期", "联系状态", "流入地"])
    for i in range(3, 20):
        sheet.append([f"WJ{i:03d}", f"张{i:03d}", id_number(i), None, "正常联系", "510115"])
    sheet.append(["WJ100", "李四", id_number(100), None, "失联", "510115"])
    sheet.append(["WJ101", "李四", id_number(100), None, "失联", "510115"])
    book.save(path)
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    config = tmp_path / "yanxing.toml"
    config.write_text(f'[hub]\ndatabase_url = "sqlite+aiosqlite:///{tmp_path / "hub.db"}"\n'
                      'secret = "cli-test-secret-0123456789abcdef-xyz"\n', encoding="utf-8")
    (tmp_path / "origin.toml").write_text(
        MAPPING.replace('format = "csv"', 'format = "csv"\nencoding = "gbk"'), encoding="utf-8")
    (tmp_path / "destination.toml").write_text(DESTINATION_MAPPING, encoding="utf-8")
    (tmp_path / "涌水村.csv").write_bytes(ledger_csv())
    return {"config": config, "origin": tmp_path / "涌水村.csv",
            "origin_mapping": tmp_path / "origin.toml",
            "destination": destination_xlsx(tmp_path / "温江.xlsx"),
            "destination_mapping": tmp_path / "destination.toml", "dir": tmp_path}


def args(f: dict[str, Path], *more: str) -> list[str]:
    return ["reconcile", "--config", str(f["config"]), "--origin", str(f["origin"]),
            "--origin-mapping", str(f["origin_mapping"]), "--destination",
            str(f["destination"]), "--destination-mapping", str(f["destination_mapping"]),
            "--period", "2026Q3", *more]


def test_reconcile_files_to_xlsx_and_json(files: dict[str, Path],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    xlsx, report = files["dir"] / "report.xlsx", files["dir"] / "report.json"
    assert main(args(files, "--origin-region", "510521", "--destination-region", "510100",
                     "--out", str(xlsx), "--json", str(report))) == 0
    text = out.getvalue()
    assert "origin_only" in text and "destination_only" in text and f"wrote {xlsx}" in text
    body = json.loads(report.read_text(encoding="utf-8"))
    document = body["report"]
    counts = document["counts"]
    assert counts["duplicate"] == 2 and counts["origin_only"] == 4  # 0, 1, 2 and the bad ID
    assert counts["matched"] + counts["differing"] + counts["status_conflict"] == 8
    assert counts["bad_row"] == 2
    for category, rows in body["rows"].items():
        assert rows_digest(rows) == document["rows"][category]
    book = openpyxl.load_workbook(xlsx, read_only=True)
    assert book.sheetnames == ["汇总", *SHEET_NAMES.values()]
    origin_only = list(book["仅流出地有（流入地未掌握）"].iter_rows(values_only=True))
    assert origin_only[0][0] == "成员键" and len(origin_only) == 1 + counts["origin_only"]
    summary = [r for r in book["汇总"].iter_rows(values_only=True)]
    assert ("同方重复", "同一方重复记录", 2) in {r[:3] for r in summary}
    book.close()


def test_a_wrong_encoding_stops_with_a_clear_error(files: dict[str, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    utf8 = files["dir"] / "utf8.toml"
    utf8.write_text(MAPPING.replace('format = "csv"', 'format = "csv"\nencoding = "utf-8"'),
                    encoding="utf-8")
    xlsx = files["dir"] / "never.xlsx"
    files["origin_mapping"] = utf8
    code = main(args(files, "--out", str(xlsx)))
    assert code == 2
    err = capsys.readouterr().err
    assert "LEDGER_INVALID" in err and "gbk" in err and "Traceback" not in err
    assert not xlsx.exists()


def test_a_missing_column_stops_with_a_clear_error(files: dict[str, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    files["origin"].write_bytes(ledger_csv().replace("身份证号码".encode("gbk"),
                                                     "证件".encode("gbk")))
    assert main(args(files)) == 2
    err = capsys.readouterr().err
    assert "身份证号码" in err and "LEDGER_INVALID" in err


def test_a_bad_period_is_refused(files: dict[str, Path],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*args(files)[:-1], "Q3-2026"]) == 2
    assert "2026Q3" in capsys.readouterr().err
