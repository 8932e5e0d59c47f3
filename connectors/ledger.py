"""Village ledgers (台账): CSV (UTF-8, GBK, GB18030) and XLSX files with Chinese headers.

Ledgers are kept by hand: a title row (e.g. "涌水村流动党员信息台账") sits above the header,
the 党支部 column is one merged cell over many rows, rows are left blank, the file is saved
as GBK by Excel on Windows. This connector reads all of that. The header row is found as the
first row containing the id column and every required column (or `header_row` from the
mapping); row numbers in issues are the ones a person sees in Excel (1-based).

A parsed file is cached by (path, mtime, size), so batch reads by key are O(1) lookups after
the first load, and an edited file is re-read on the next request.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from xml.etree import ElementTree

from connectors._mapped import MappedConnector
from connectors._records import MISSING
from connectors._values import ValueProblem, convert, is_blank
from connectors._writes import row_of, text_of
from connectors._xlsx_calamine import calamine_sheet
from connectors._xlsx_rows import Unsupported, sheet_rows
from connectors.base import (
    DataIssue,
    Location,
    ReadRequest,
    ReadResult,
    Record,
    WriteRequest,
    WriteResult,
)
from connectors.errors import ConnectorConfigError, NotSupported, SourceInvalid, SourceUnavailable
from connectors.mapping import EntityMapping, SourceMapping, WriteMapping

__all__ = ["LedgerConnector", "LedgerFileError", "header_key"]

_ENCODINGS = ("utf-8-sig", "gbk", "gb18030")
_HEADER_SEARCH_ROWS = 30
_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}


class LedgerFileError(ConnectorConfigError, SourceInvalid):
    """The ledger file cannot be used as configured (wrong encoding, missing column, not found).

    Both a configuration problem (fix the mapping or re-save the file) and a source failure
    the hub shows as partial data, so it is catchable as either.
    """

    code = "CONFIG_INVALID"

    def __init__(self, source: str, file: Path | str, message: str) -> None:
        self.source = source
        self.path = str(file)
        self.problems = [f"{file}: {message}"]
        Exception.__init__(self, f"{source}: {file}: {message}")


def _norm(header: object) -> str:
    """Header cells compare without whitespace: "联系\\n电话 " is 联系电话."""
    return re.sub(r"\s+", "", str(header)) if header is not None else ""


#: how header cells and mapped column names compare (connectors.ledger_columns uses it too)
header_key = _norm


@dataclass(slots=True)
class _Table:
    """One parsed sheet or CSV: data rows with their Excel row numbers, indexed by local id."""

    where: str
    header_row: int
    columns: dict[str, int]
    rows: list[tuple[int, Sequence[Any]]]
    by_key: dict[str, int] = field(default_factory=dict)
    issues: list[DataIssue] = field(default_factory=list)
    updated: list[datetime | None] | None = None
    #: mapping column name -> its index (or None), normalised once rather than for every cell
    _index_of: dict[str, int | None] = field(default_factory=dict)

    def column_index(self, column: str) -> int | None:
        try:
            return self._index_of[column]
        except KeyError:
            index = self._index_of[column] = self.columns.get(_norm(column))
            return index


#: a <mergeCell ref="G4:G10003"/> element (any namespace prefix); cell text cannot hold one, XML
#: escapes its "<"
_MERGE_CELL = re.compile(rb"<(?:[\w.-]+:)?mergeCell\b[^>]*?\bref\s*=\s*[\"']([A-Z0-9:$]+)[\"']")
#: bytes kept from one chunk to the next, so an element cut by a chunk border is still found
_MERGE_CELL_TAIL = 512


#: an error cell (#N/A, #REF!): openpyxl gives its text, calamine an empty string
_ERROR_CELL = (b't="e"', b"t='e'")


def _sheet_scan(path: Path, sheet: str | None) -> tuple[list[tuple[int, int, int, int]], bool]:
    """(min_col, min_row, max_col, max_row) of merged cells, read from the sheet XML, and
    whether the sheet has an error cell.

    openpyxl's read-only mode streams cells and does not expose merged ranges, so they are read
    directly from the workbook package: workbook.xml -> relationship -> sheet part -> mergeCell.
    The sheet part is scanned for its mergeCell elements as bytes: parsing it as XML a second
    time, after openpyxl, cost a fifth of reading a 20,000-row ledger. The same pass looks for
    a cell of type "e" (a bytes search, as fast as reading the part): calamine reads one as
    blank, so a sheet with any is read by openpyxl, which gives its text.
    """
    from openpyxl.utils.cell import range_boundaries

    with zipfile.ZipFile(path) as package:
        workbook = ElementTree.fromstring(package.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target", "") for r in rels.findall("rel:Relationship", _NS)}
        sheets = workbook.findall("m:sheets/m:sheet", _NS)
        chosen = next((s for s in sheets if sheet is None or s.get("name") == sheet), None)
        if chosen is None:
            return [], False
        target = targets.get(chosen.get(f"{{{_NS['r']}}}id"), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        out: list[tuple[int, int, int, int]] = []
        errors = False
        with package.open(part) as stream:
            tail = b""
            while chunk := stream.read(1 << 20):
                data = tail + chunk
                for match in _MERGE_CELL.finditer(data):
                    if match.end() <= len(tail):  # ended in the tail: found last time
                        continue
                    c1, r1, c2, r2 = range_boundaries(match.group(1).decode("ascii"))
                    if c1 is not None and r1 is not None and c2 is not None and r2 is not None:
                        out.append((c1, r1, c2, r2))  # whole rows or columns are not cells
                errors = errors or any(marker in data for marker in _ERROR_CELL)
                tail = data[-_MERGE_CELL_TAIL:]
        return out, errors


def _merged_ranges(path: Path, sheet: str | None) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of the merged cells of `sheet` (connectors.ledger
    fills each with its top-left value)."""
    return _sheet_scan(path, sheet)[0]


class LedgerConnector(MappedConnector):
    """Reads members (or other entities) from CSV/XLSX ledgers. Writes only into files the
    hub owns (`[write.<action>] file`), one appended row per entry, never into the ledger a
    person keeps by hand."""

    kind: ClassVar[str] = "ledger"
    source_noun: ClassVar[str] = "ledger"

    def __init__(self, mapping: SourceMapping) -> None:
        changes = any("updated_at" in e.fields for e in mapping.entities.values())
        super().__init__(mapping, by_keys=True, changes=changes)
        conn = mapping.connection
        self._format: str = conn["format"]
        self._encoding: str = conn.get("encoding", "utf-8")
        self._delimiter: str = conn.get("delimiter", ",")
        self._cache: dict[str, tuple[tuple[Any, ...], _Table]] = {}
        self._lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()

    # ---- files ---------------------------------------------------------------------------

    def _file_of(self, entity: EntityMapping) -> Path:
        path = Path(entity.file or self.mapping.connection["file"])
        return path if path.is_absolute() else self.mapping.base_dir / path

    def _sheet_of(self, entity: EntityMapping) -> str | None:
        return entity.sheet or entity.path or self.mapping.connection.get("sheet")

    def _read_grid(self, path: Path, sheet: str | None) -> tuple[str, list[list[Any]]]:
        if self._format == "csv":
            return path.name, self._read_csv(path)
        return self._read_xlsx(path, sheet)

    def _read_csv(self, path: Path) -> list[list[Any]]:
        text = self._decode_csv(path)
        return [
            list(row)
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=self._delimiter)
        ]

    def _decode_csv(self, path: Path) -> str:
        """The file's text in its declared encoding; LedgerFileError naming the one it decodes
        as otherwise (connectors.ledger_columns reads CSVs through this too)."""
        data = path.read_bytes()
        declared = "utf-8-sig" if self._encoding.lower() in ("utf-8", "utf8") else self._encoding
        if data.startswith(codecs.BOM_UTF8) and declared != "utf-8-sig":
            raise LedgerFileError(
                self.name, path, f'starts with a UTF-8 BOM but encoding = "{self._encoding}"; '
                'set encoding = "utf-8"',
            )
        try:
            text = data.decode(declared)
        except UnicodeDecodeError as exc:
            fits = [e for e in _ENCODINGS if e != declared and _decodes(data, e)]
            hint = (
                f'; it decodes as {fits[0]}: set encoding = "{fits[0].replace("-sig", "")}"'
                if fits else "; re-save it as UTF-8 CSV"
            )
            raise LedgerFileError(
                self.name, path,
                f"is not {self._encoding} (byte {exc.start} cannot be decoded){hint}",
            ) from None
        return text

    def _read_xlsx(self, path: Path, sheet: str | None) -> tuple[str, list[list[Any]]]:
        """The sheet's rows as openpyxl's read-only `iter_rows` gives them, merged cells filled
        with their top-left value. Read by calamine (connectors._xlsx_calamine) when it reads
        every cell as openpyxl would; otherwise, and for every error message, by openpyxl."""
        merged: list[tuple[int, int, int, int]] | None = None
        try:
            title, grid = calamine_sheet(path, sheet)
            merged, errors = _sheet_scan(path, title)
            if errors:
                raise Unsupported("error cells")
        except (Unsupported, zipfile.BadZipFile, KeyError, OSError, ElementTree.ParseError):
            title, grid = self._read_xlsx_openpyxl(path, sheet)
            merged = None
        if merged is None:
            merged = _merged_ranges(path, title)
        for min_col, min_row, max_col, max_row in merged:
            if min_row > len(grid):
                continue
            top = grid[min_row - 1]
            value = top[min_col - 1] if min_col - 1 < len(top) else None
            for r in range(min_row, min(max_row, len(grid)) + 1):
                row = grid[r - 1]
                if len(row) < max_col:
                    row.extend([None] * (max_col - len(row)))
                for c in range(min_col, max_col + 1):
                    row[c - 1] = value
        return f"{path.name}:{title}", grid

    def _read_xlsx_openpyxl(self, path: Path, sheet: str | None) -> tuple[str, list[list[Any]]]:
        """(the sheet's title, its rows) read by openpyxl (connectors._xlsx_rows where it
        can); LedgerFileError when the file is not a workbook or has no such sheet."""
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
            raise LedgerFileError(
                self.name, path, f"is not a readable .xlsx workbook ({exc})"
            ) from None
        try:
            if sheet is not None and sheet not in workbook.sheetnames:
                raise LedgerFileError(
                    self.name, path,
                    f"has no sheet {sheet!r} (sheets: {', '.join(workbook.sheetnames)})",
                )
            worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
            title = worksheet.title
            try:
                grid = sheet_rows(worksheet)
            except Unsupported:
                grid = [list(row) for row in worksheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
        return title, grid

    def _find_header(self, entity: EntityMapping, grid: list[list[Any]], path: Path) -> int:
        needed = [entity.local_id] + [entity.fields[f].column for f in entity.required]
        wanted = {_norm(c) for c in needed}
        header_row = entity.header_row or self.mapping.connection.get("header_row")
        if header_row is not None:
            if header_row > len(grid):
                raise LedgerFileError(self.name, path, f"has no row {header_row} (header_row)")
            cells = {_norm(c) for c in grid[header_row - 1]}
            missing = [c for c in needed if _norm(c) not in cells]
            if missing:
                raise LedgerFileError(
                    self.name, path,
                    f"header row {header_row} has no column {', '.join(missing)}",
                )
            return header_row
        best: tuple[int, int] = (-1, 0)
        for index, row in enumerate(grid[:_HEADER_SEARCH_ROWS]):
            cells = {_norm(c) for c in row}
            found = len(wanted & cells)
            if found == len(wanted):
                return index + 1
            best = max(best, (found, index + 1))
        found_row = grid[best[1] - 1] if best[1] and grid else []
        missing = [c for c in needed if _norm(c) not in {_norm(x) for x in found_row}]
        raise LedgerFileError(
            self.name, path,
            f"no header row with column(s) {', '.join(missing)} in the first "
            f"{_HEADER_SEARCH_ROWS} rows; add the column or fix the mapping"
            + (f" (or the encoding: read as {self._encoding})" if self._format == "csv" else ""),
        )

    def _parse(self, entity: EntityMapping, path: Path) -> _Table:
        where, grid = self._read_grid(path, self._sheet_of(entity))
        header_row = self._find_header(entity, grid, path)
        columns: dict[str, int] = {}
        for index, cell in enumerate(grid[header_row - 1]):
            columns.setdefault(_norm(cell), index)
        builder = self._builders[entity.name]
        table = _Table(where, header_row, columns, [])
        for spec in (*entity.fields.values(), *entity.extensions.values()):
            if _norm(spec.column) not in columns:
                table.issues.append(
                    builder.issue(
                        "MISSING_COLUMN",
                        f"column {spec.column} ({spec.field}) is not in the header; "
                        "its values are empty",
                        Location(where, header_row),
                        column=spec.column,
                    )
                )
        key_index = columns[_norm(entity.local_id)]
        for number, row in enumerate(grid[header_row:], start=header_row + 1):
            if all(is_blank(c) for c in row):
                continue
            position = len(table.rows)
            table.rows.append((number, row))
            key = builder.local_id(row[key_index] if key_index < len(row) else None)
            if key is None:
                continue
            if key in table.by_key:
                first = table.rows[table.by_key[key]][0]
                table.issues.append(
                    builder.issue(
                        "INVALID_VALUE",
                        f"{entity.local_id} {key} repeats row {first}; the first is used",
                        Location(where, number),
                        column=entity.local_id,
                        local_id=key,
                    )
                )
            else:
                table.by_key[key] = position
        return table

    async def _table(self, entity: EntityMapping) -> _Table:
        path = self._file_of(entity)
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise LedgerFileError(self.name, path, "file not found") from None
        stamp = (str(path), stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(entity.name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        async with self._lock:
            cached = self._cache.get(entity.name)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            table = await asyncio.to_thread(self._parse, entity, path)
            self._cache[entity.name] = (stamp, table)
            return table

    # ---- the contract --------------------------------------------------------------------

    def _row_record(
        self, entity: EntityMapping, table: _Table, position: int, fields: frozenset[str] | None,
        issues: list[DataIssue], now: datetime,
    ) -> Record | None:
        number, row = table.rows[position]

        def get(column: str) -> Any:
            index = table.column_index(column)
            if index is None:
                return MISSING
            return row[index] if index < len(row) else None

        record, found = self._builders[entity.name].build(
            get, Location(table.where, number), fields, fetched_at=now
        )
        issues.extend(found)
        return record

    def _updated(self, entity: EntityMapping, table: _Table) -> list[datetime | None]:
        """updated_at per row, converted once per loaded file (changed-since filters on it)."""
        if table.updated is None:
            spec = entity.fields["updated_at"]
            index = table.columns.get(_norm(spec.column))
            values: list[datetime | None] = []
            for _, row in table.rows:
                raw = row[index] if index is not None and index < len(row) else None
                try:
                    values.append(
                        convert(
                            raw,
                            value_type=spec.type,
                            entity=entity.name,
                            field="updated_at",
                            formats=spec.formats,
                            tz=self.mapping.timezone,
                        )
                    )
                except ValueProblem:
                    values.append(None)
            table.updated = values
        return table.updated

    async def read(self, request: ReadRequest) -> ReadResult:
        entity = self._entity(request.entity)
        table = await self._table(entity)
        now = datetime.now(UTC)
        issues: list[DataIssue] = []
        if request.keys is not None:
            records = [
                self._row_record(entity, table, table.by_key[k], request.fields, issues, now)
                if k in table.by_key else None
                for k in request.keys
            ]
            return ReadResult(records, None, issues)
        positions: list[int] = list(range(len(table.rows)))
        if request.since is not None:
            if "updated_at" not in entity.fields:
                raise NotSupported(
                    self.name, f"{entity.name} has no updated_at column for changed-since"
                )
            since = request.since if request.since.tzinfo else request.since.replace(tzinfo=UTC)
            updated = self._updated(entity, table)
            positions = [p for p in positions if updated[p] is None or updated[p] > since]  # type: ignore[operator]
        try:
            start = int(request.cursor or 0)
        except ValueError:
            raise SourceInvalid(self.name, f"bad cursor {request.cursor!r}") from None
        if start == 0:
            issues.extend(table.issues)
        page = positions[start : start + max(request.page_size, 1)]
        records = [self._row_record(entity, table, p, request.fields, issues, now) for p in page]
        end = start + len(page)
        return ReadResult(
            [r for r in records if r is not None],
            str(end) if end < len(positions) else None,
            issues,
        )

    # ---- write-back ----------------------------------------------------------------------

    def _write_file(self, spec: WriteMapping) -> Path:
        path = Path(spec.file or "")
        return path if path.is_absolute() else self.mapping.base_dir / path

    async def write(self, request: WriteRequest) -> WriteResult:
        """Append one row to `[write.<action>]`'s CSV or XLSX file (created with a header row
        when absent), unless a row with this idempotency key is already there. One writer at
        a time per file, also across processes (an advisory lock on a `.lock` file beside
        it); an XLSX is saved to a temporary file and renamed, so a crash never leaves half a
        workbook."""
        spec = self._write_spec(request.action)
        path = self._write_file(spec)
        header = [spec.key_column or "", *(f.column for f in spec.fields)]
        values = row_of(spec, request, self.mapping.timezone)
        row = [request.idempotency_key, *(values[f.column] for f in spec.fields)]
        async with self._write_lock:
            try:
                return await asyncio.to_thread(
                    _append_locked, self.name, path, spec, header, row, request)
            except OSError as exc:
                raise SourceUnavailable(
                    self.name, f"cannot write {path.name}: {exc.strerror or type(exc).__name__}",
                    public_detail=f"cannot write {path.name}") from None

    async def aclose(self) -> None:
        self._cache.clear()


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _append_locked(source: str, path: Path, spec: WriteMapping, header: list[str],
                   row: list[Any], request: WriteRequest) -> WriteResult:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if path.suffix.lower() == ".xlsx":
                return _append_xlsx(source, path, spec, header, row, request)
            return _append_csv(source, path, spec, header, row, request)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _key_index(source: str, path: Path, found: Sequence[Any], header: list[str]) -> int:
    """The key column's index in an existing file's header; every written column must be
    there (a person may have added columns, never removed ours)."""
    names = [_norm(c) for c in found]
    missing = [c for c in header if _norm(c) not in names]
    if missing:
        detail = f"{path.name} has no column {', '.join(missing)} in its header row"
        raise SourceInvalid(source, detail, public_detail=detail)
    return names.index(_norm(header[0]))


def _append_csv(source: str, path: Path, spec: WriteMapping, header: list[str],
                row: list[Any], request: WriteRequest) -> WriteResult:
    encoding = spec.encoding
    if not path.exists() or path.stat().st_size == 0:
        with path.open("w", encoding=encoding, newline="") as fh:
            csv.writer(fh).writerow(header)
    with path.open("r", encoding=encoding, newline="") as fh:
        lines = list(csv.reader(fh))
    order = _key_index(source, path, lines[0], header)
    names = [_norm(c) for c in lines[0]]
    for number, line in enumerate(lines[1:], start=2):
        if order < len(line) and line[order] == request.idempotency_key:
            return WriteResult(request.action, str(number), duplicate=True)
    cells = [""] * len(names)
    for column, value in zip(header, row):
        cells[names.index(_norm(column))] = text_of(value)
    with path.open("a", encoding=encoding.replace("-sig", ""), newline="") as fh:
        csv.writer(fh).writerow(cells)
    return WriteResult(request.action, str(len(lines) + 1))


def _append_xlsx(source: str, path: Path, spec: WriteMapping, header: list[str],
                 row: list[Any], request: WriteRequest) -> WriteResult:
    import os
    import tempfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if path.exists():
        try:
            workbook = openpyxl.load_workbook(path)
        except (InvalidFileException, zipfile.BadZipFile, KeyError) as exc:
            detail = f"{path.name} is not a readable .xlsx workbook ({type(exc).__name__})"
            raise SourceInvalid(source, detail, public_detail=detail) from None
    else:
        workbook = openpyxl.Workbook()
        first = workbook.worksheets[0]
        first.title = spec.sheet or "hub"
        first.append(header)
    if spec.sheet is not None and spec.sheet not in workbook.sheetnames:
        workbook.create_sheet(spec.sheet).append(header)
    sheet = workbook[spec.sheet] if spec.sheet is not None else workbook.worksheets[0]
    found = [c.value for c in sheet[1]]
    order = _key_index(source, path, found, header)
    names = [_norm(c) for c in found]
    for number, cells in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
        if order < len(cells) and cells[order] == request.idempotency_key:
            return WriteResult(request.action, str(number), duplicate=True)
    values: list[Any] = [None] * len(names)
    for column, value in zip(header, row):
        values[names.index(_norm(column))] = value
    sheet.append(values)
    number = sheet.max_row
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".xlsx")
    os.close(handle)
    try:
        workbook.save(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return WriteResult(request.action, str(number))
