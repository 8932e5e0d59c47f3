"""The cell values of one read-only openpyxl worksheet, row by row, about five times faster than
`iter_rows(values_only=True)`.

openpyxl's read-only iteration builds a dict and runs a dozen attribute lookups per cell (16 us
a cell here: 80 s for a province's 250,000-row ledger). This walks the same sheet XML with the
C parser (xml.etree iterparse) and converts each cell as openpyxl's `WorkSheetParser.parse_cell`
does with `data_only=True`: shared and inline strings, numbers (int unless written with a point
or exponent), booleans, ISO dates, and numbers in a date format turned into datetimes with the
workbook's epoch. It uses the workbook's own shared strings and date styles as openpyxl loaded
them; anything it does not know (a cell type, a style openpyxl marks as a duration, openpyxl's
internals moved) makes the caller fall back to `iter_rows`, so the values never differ.

Rows keep their Excel numbers (a missing row is an empty list); cells keep their columns
(missing ones are None); rows are not padded to the sheet's width.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import iterparse

__all__ = ["sheet_rows", "Unsupported"]

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL, _VALUE = f"{_MAIN}row", f"{_MAIN}c", f"{_MAIN}v"
_INLINE, _TEXT, _RUN = f"{_MAIN}is", f"{_MAIN}t", f"{_MAIN}r"


class Unsupported(Exception):
    """Something this reader does not convert exactly as openpyxl would: use iter_rows."""


def _column(reference: str) -> int:
    """1-based column of a cell reference ("AB12" -> 28)."""
    number = 0
    for char in reference:
        if "A" <= char <= "Z":
            number = number * 26 + ord(char) - 64
        else:
            break
    return number


def _inline_text(cell: Any) -> str | None:
    """An inline string's text as openpyxl's Text.content gives it: the plain text, then the
    text of each formatted run (phonetic runs left out)."""
    inline = cell.find(_INLINE)
    if inline is None:
        return None
    parts = []
    plain = inline.find(_TEXT)
    if plain is not None:
        parts.append(plain.text or "")
    for run in inline.findall(_RUN):
        text = run.find(_TEXT)
        if text is not None and text.text is not None:
            parts.append(text.text)
    return "".join(parts)


def sheet_rows(worksheet: Any) -> list[list[Any]]:
    """Every row of a read-only `worksheet` (of a workbook loaded with data_only=True) as a list
    of values; raises Unsupported when openpyxl's own iteration must be used instead."""
    from openpyxl.utils.datetime import from_excel, from_ISO8601

    try:
        workbook = worksheet.parent
        strings = worksheet._shared_strings
        epoch = workbook.epoch
        date_styles = set(workbook._date_formats)
        if set(workbook._timedelta_formats) or not workbook.data_only:
            raise Unsupported("durations or formulas")
        source = worksheet._get_source()
    except AttributeError as exc:  # openpyxl's internals changed
        raise Unsupported(str(exc)) from None
    grid: list[list[Any]] = []
    with source:
        for _, element in iterparse(source):
            if element.tag != _ROW:
                continue
            number = element.get("r")
            row_no = int(number) if number else len(grid) + 1
            while len(grid) < row_no - 1:
                grid.append([])
            row: list[Any] = []
            column = 0
            for cell in element:
                if cell.tag != _CELL:
                    continue
                reference = cell.get("r")
                column = _column(reference) if reference else column + 1
                kind = cell.get("t", "n")
                value: Any
                if kind == "inlineStr":
                    value = _inline_text(cell)
                else:
                    value = cell.findtext(_VALUE, None) or None
                    if value is not None:
                        if kind == "n":
                            value = (float(value) if "." in value or "E" in value or "e" in value
                                     else int(value))
                            style = cell.get("s")
                            if style and int(style) in date_styles:
                                try:
                                    value = from_excel(value, epoch)
                                except (OverflowError, ValueError):
                                    raise Unsupported("a date out of range") from None
                        elif kind == "s":
                            value = strings[int(value)]
                        elif kind == "b":
                            value = bool(int(value))
                        elif kind == "d":
                            value = from_ISO8601(value)  # type: ignore[no-untyped-call]
                        elif kind not in ("str", "e"):
                            raise Unsupported(f"cell type {kind!r}")
                if value is not None:
                    if len(row) < column:
                        row.extend([None] * (column - len(row)))
                    row[column - 1] = value
            grid.append(row)
            element.clear()
    return grid
