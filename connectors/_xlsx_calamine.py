"""A ledger's sheet read by calamine (Rust, python-calamine), its cells made what openpyxl's
read-only `iter_rows(values_only=True)` gives, about eight times faster than even
connectors._xlsx_rows.

openpyxl spends most of a large ledger's read in Python: loading the shared strings (a Text
object per string) and then walking the sheet's XML cell by cell; at 250,000 rows that is about
a minute. calamine parses both in Rust. Its values differ from openpyxl's in a few known ways,
each made equal here or refused (Unsupported: the caller then reads with openpyxl, so the
values never differ):

- numbers all come as floats: an integral one below 2**53 becomes an int, as openpyxl reads
  a cell written "12"; a larger integral one (an ID number typed as a number) may have lost
  digits on the way, so it is refused;
- a date cell without a time comes as a `date`: openpyxl gives a `datetime` at midnight;
- empty cells come as "": openpyxl gives None;
- time and duration cells: refused (openpyxl's own rules for them are kept);
- error cells (#N/A) come as "": the caller checks the sheet has none (connectors.ledger), since
  openpyxl gives their text and the connector reports it.

Rows are padded to the sheet's width and trailing empty rows are left out; neither changes
what the connector reads (blank rows are skipped, missing cells are None). Rows are converted
as calamine yields them, with one str per distinct text: a 250,000-row ledger peaks at 510 MB
rather than 750 MB (all of calamine's str first) or openpyxl's 555 MB.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from connectors._xlsx_rows import Unsupported

__all__ = ["calamine_sheet", "available"]

#: integral floats from this size on may not be the digits the cell holds
_EXACT = 2**53


def available() -> bool:
    try:
        import python_calamine  # noqa: F401
    except ImportError:  # pragma: no cover - a dependency; a build without it uses openpyxl
        return False
    return True


def _cells(row: list[Any], shared: dict[str, str]) -> list[Any]:
    """One row's cells as openpyxl gives them (in place); Unsupported for what openpyxl
    converts by rules of its own. Text is made one object per distinct value (`shared`), as
    openpyxl shares one per shared string: calamine makes a str per cell, and a province's
    男, 正常联系 and branch names are millions of cells."""
    for index, value in enumerate(row):
        kind = type(value)
        if kind is str:
            row[index] = shared.setdefault(value, value) if value else None
        elif kind is float:
            if value.is_integer():
                if -_EXACT < value < _EXACT:
                    row[index] = int(value)
                else:
                    raise Unsupported("an integral number too large to be exact")
        elif kind is date:
            row[index] = datetime(value.year, value.month, value.day)
        elif kind not in (int, bool, datetime):
            raise Unsupported(f"a {kind.__name__} cell")
    return row


def _rows(sheet: Any) -> list[list[Any]]:
    """The sheet's rows from A1, converted row by row as calamine yields them (its rows start
    at the first row, its columns at the first used column: the missing ones are put back)."""
    shared: dict[str, str] = {}
    rows = [_cells(row, shared) for row in sheet.iter_rows()]
    start, end = sheet.start, sheet.end
    if start is None or end is None or not rows:
        return []
    top = end[0] + 1 - len(rows)  # rows above the first one yielded
    left = end[1] + 1 - max(len(row) for row in rows)  # columns left of the ones yielded
    if top < 0 or left < 0:
        raise Unsupported("calamine's rows do not fit its dimensions")
    if left:
        rows = [[None] * left + row for row in rows]
    return [[] for _ in range(top)] + rows


def calamine_sheet(path: Path, sheet: str | None) -> tuple[str, list[list[Any]]]:
    """(the sheet's name, its rows from A1) of `sheet` or of the first worksheet; Unsupported
    when calamine is missing, cannot read the file (openpyxl then says why) or reads a cell
    differently from openpyxl."""
    try:
        from python_calamine import CalamineWorkbook, SheetTypeEnum
    except ImportError:  # pragma: no cover
        raise Unsupported("python-calamine is not installed") from None
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine's own errors: openpyxl reports the file as unreadable
        raise Unsupported(f"calamine: {type(exc).__name__}") from None
    try:
        if sheet is None:
            sheets = [m.name for m in workbook.sheets_metadata
                      if m.typ == SheetTypeEnum.WorkSheet]
            if not sheets:
                raise Unsupported("no worksheet")
            name = sheets[0]
        elif sheet in workbook.sheet_names:
            name = sheet
        else:
            raise Unsupported("no such sheet")  # openpyxl names the sheets there are
        try:
            rows = _rows(workbook.get_sheet_by_name(name))
        except Exception as exc:
            raise Unsupported(f"calamine: {type(exc).__name__}") from None
    finally:
        workbook.close()
    return name, rows
