"""A whole ledger entity read as columns (polars Series), for reading 10^5-10^6 rows at once.

`LedgerConnector.read` builds one `Record` per row, which is right for paging and by-key
reads but costs tens of microseconds a row. `read_columns` reads the same file the same way
(the connector's own decoding, header detection, merged cells and duplicate-id checks) and
converts each mapped column as a whole with exactly the connector's rules: a column's distinct
raw values are converted once each by the same `convert` (a status column of a million rows
holds four), and the columns whose values are all distinct (ID numbers, phones, names) take a
vectorised path for the clean values, leaving only the rest to `convert`. Bad values become
None with the same `DataIssue` (code, message, row, column, masked value) as `read` reports;
tests/connectors/test_ledger_columns.py proves both reads agree.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import islice, zip_longest
from typing import TYPE_CHECKING, Any

from connectors._values import INVALID_ID_NUMBER, ValueProblem, convert, mask_raw
from connectors.base import DataIssue, Location
from connectors.idcard import CHECK_CHARACTERS
from connectors.ledger import LedgerConnector, LedgerFileError, header_key
from connectors.mapping import EntityMapping, FieldMapping

if TYPE_CHECKING:
    import polars as pl

__all__ = ["LedgerColumns", "read_columns"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_PROVINCES = ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35",
              "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54",
              "61", "62", "63", "64", "65", "71", "81", "82")
#: a column with more distinct values than this skips the per-value cache for its clean rows
_DISTINCT = 50_000
#: rows searched for the header (as the connector does)
_HEADER_ROWS = 30


@dataclass(slots=True)
class LedgerColumns:
    """One entity of a ledger: per kept row its Excel row number and local id, per mapped
    canonical field its converted values (None where blank or bad), and every issue."""

    where: str
    rows: list[int]
    local_ids: list[str]
    values: dict[str, pl.Series]
    issues: list[DataIssue] = field(default_factory=list)


def _transpose(table_rows: Sequence[tuple[int, Sequence[Any]]]) -> list[tuple[Any, ...]]:
    """The grid's columns (short rows padded with None), in one pass in C."""
    return list(zip_longest(*(row for _, row in table_rows)))


def _local_ids(raw: Sequence[Any], builder: Any) -> list[str | None]:
    """`RecordBuilder.local_id` of each cell; text cells (every CSV cell) in one vectorised
    pass: stripped, blank -> None."""
    if all(isinstance(v, str) for v in raw):
        import polars as pl

        return _stripped_or_null(pl.Series(raw, dtype=pl.Utf8)).to_list()
    return [builder.local_id(v) for v in raw]


def _clean_ids(series: pl.Series) -> pl.Series:
    """True where the raw text is already a valid, normalised ID number (the common case)."""
    return _id_checks(series)["clean"]


def _id_checks(series: pl.Series) -> pl.DataFrame:
    """Per value: `clean` (already a valid, normalised ID number), `check_only` (normalised,
    plausible region and birth date, only the check character wrong: the common typo, whose
    issue is written here without a Python call per row) and `expected` (the right check
    character), as `connectors.idcard.id_problem` decides them."""
    import polars as pl

    text = series.cast(pl.Utf8, strict=False).str.strip_chars()
    shape = text.str.contains(r"^[0-9]{17}[0-9X]$").fill_null(False)
    frame = pl.DataFrame({"shape": shape, "t": text}).with_columns(
        pl.when(pl.col("shape")).then(pl.col("t")).otherwise(pl.lit("110101190001011009"))
        .alias("t"))
    # the 17 digits as one integer (< 10**17 fits Int64), taken apart with integer division:
    # seventeen string slices and casts per row cost several times more
    frame = frame.with_columns(pl.col("t").str.slice(0, 17).cast(pl.Int64).alias("n"))
    total = sum(((pl.col("n") // 10 ** (16 - i)) % 10) * w for i, w in enumerate(_WEIGHTS))
    frame = frame.with_columns(
        pl.lit(CHECK_CHARACTERS).str.slice(total % 11, 1).alias("expected"),
        (pl.col("t").str.slice(0, 2).is_in(_PROVINCES)
         & pl.col("t").str.slice(6, 8).str.to_date("%Y%m%d", strict=False).is_not_null()
         & (pl.col("t").str.slice(6, 4).cast(pl.Int64) >= 1900)
         & pl.col("shape")).alias("plausible"))
    right = pl.col("t").str.slice(17, 1) == pl.col("expected")
    return frame.select(
        (pl.col("plausible") & right).alias("clean"),
        (pl.col("plausible") & ~right).alias("check_only"),
        pl.col("expected"), pl.col("t"))


def _clean_phones(series: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(digits, clean): the connector's phone rule, vectorised for the plain cases."""
    import polars as pl

    text = series.cast(pl.Utf8, strict=False).str.strip_chars()
    digits = text.str.replace_all(r"[\s\-()（）]", "")
    digits = pl.select(pl.when(digits.str.starts_with("+86")).then(digits.str.slice(3))
                       .otherwise(digits)).to_series()
    clean = (digits.str.contains(r"^[0-9]{7,12}$").fill_null(False)).alias("clean")
    return digits, clean


def _convert_column(connector: LedgerConnector, entity: str, spec: FieldMapping,
                    raw: Sequence[Any], keep: list[int], where: str, numbers: list[int],
                    local_ids: list[str], required: bool, issues: list[DataIssue],
                    text: Callable[[Any], str | None] | None = None) -> pl.Series:
    import polars as pl

    builder = connector._builders[entity]
    tz = connector.mapping.timezone
    kept = [raw[i] for i in keep]
    out: list[Any] = [None] * len(kept)
    todo: list[int] | range = range(len(kept))
    if not spec.codes and spec.type in ("id_number", "phone", "string") and all(
            v is None or isinstance(v, str) for v in kept[:1000]):
        series = pl.Series(kept, dtype=pl.Utf8, strict=False)
        if spec.type == "id_number":
            clean = _clean_ids(series)
            values = series.str.strip_chars()
        elif spec.type == "phone":
            values, clean = _clean_phones(series)
        else:
            values = series.str.strip_chars()
            clean = values.is_not_null() & (values != "")
        out = values.to_list()
        mask = clean.to_list()
        todo = [i for i, ok in enumerate(mask) if not ok]
    cache: dict[Any, tuple[Any, ValueProblem | None]] = {}
    for i in todo:
        value = kept[i]
        hit = cache.get(value) if len(cache) < _DISTINCT else None
        if hit is None:
            try:
                hit = (convert(value, value_type=spec.type, entity=entity, field=spec.field,
                               codes=spec.codes, formats=spec.formats, tz=tz), None)
            except ValueProblem as bad:
                hit = (None, bad)
            if len(cache) < _DISTINCT:
                cache[value] = hit
        converted, problem = hit
        out[i] = converted
        row = keep[i]
        if problem is not None:
            issues.append(builder.issue(
                problem.code, f"{spec.column}: {problem.message}", Location(where, numbers[row]),
                column=spec.column, local_id=local_ids[i], value=mask_raw(spec.type, value)))
        elif converted is None and required:
            issues.append(builder.issue(
                "MISSING_VALUE", f"{spec.column} is required but empty",
                Location(where, numbers[row]), column=spec.column, local_id=local_ids[i]))
    if spec.type in ("date", "datetime", "bool", "int") or spec.codes:
        if text is not None:
            return pl.Series(spec.field, _texts_of(out, text), dtype=pl.Utf8)
        return pl.Series(spec.field, out, dtype=pl.Object)
    return pl.Series(spec.field, out, dtype=pl.Utf8, strict=False)


def _texts_of(values: Sequence[Any], text: Callable[[Any], str | None]) -> list[str | None]:
    """`text` of each value, once per distinct object (`convert` returns one object per
    distinct raw value, so identity is the cheap key; hashing a dataclass per row is not)."""
    cache: dict[int, str | None] = {}
    out: list[str | None] = []
    for value in values:
        key = id(value)
        if key not in cache:
            cache[key] = text(value)
        out.append(cache[key])
    return out


def _convert_series(connector: LedgerConnector, entity: str, spec: FieldMapping,
                    kept: pl.Series, where: str, numbers: list[int], local_ids: list[str],
                    required: bool, issues: list[DataIssue],
                    text: Callable[[Any], str | None] | None = None) -> pl.Series:
    """`_convert_column` for a CSV column held by polars: no Python object per cell except
    where a value must become one (dates), and the rules applied per distinct value."""
    import polars as pl

    builder = connector._builders[entity]
    tz = connector.mapping.timezone

    def one(value: Any) -> tuple[Any, ValueProblem | None]:
        try:
            return convert(value, value_type=spec.type, entity=entity, field=spec.field,
                           codes=spec.codes, formats=spec.formats, tz=tz), None
        except ValueProblem as bad:
            return None, bad

    def report(position: int, value: Any, converted: Any, problem: ValueProblem | None) -> None:
        location = Location(where, numbers[position])
        if problem is not None:
            issues.append(builder.issue(
                problem.code, f"{spec.column}: {problem.message}", location,
                column=spec.column, local_id=local_ids[position],
                value=mask_raw(spec.type, value)))
        elif converted is None and required:
            issues.append(builder.issue(
                "MISSING_VALUE", f"{spec.column} is required but empty", location,
                column=spec.column, local_id=local_ids[position]))

    if not spec.codes and spec.type in ("id_number", "phone", "string"):
        if spec.type == "id_number":
            checks = _id_checks(kept)
            clean = checks["clean"]
            values = kept.str.strip_chars()
            wrong = checks["check_only"]
            if wrong.any():
                # the common typo (one wrong digit) reported as id_problem words it, from the
                # columns computed above; the value is None, as convert leaves it
                _report_check_digits(spec, builder, checks.filter(wrong), wrong.arg_true(),
                                     where, numbers, local_ids, issues)
                values = pl.select(pl.when(wrong).then(pl.lit(None, pl.Utf8))
                                   .otherwise(values)).to_series()
                clean = clean | wrong
        elif spec.type == "phone":
            values, clean = _clean_phones(kept)
        else:
            values = kept.str.strip_chars()
            clean = (values.is_not_null() & (values != "")).fill_null(False)
        # blank cells (a destination ledger's empty origin columns: every row) are None
        # without a Python call each; only a required column reports them
        blank = (kept.str.strip_chars().fill_null("") == "").fill_null(True)
        if blank.any():
            values = pl.select(pl.when(blank).then(pl.lit(None, pl.Utf8))
                               .otherwise(values)).to_series()
            if required:
                for position in blank.arg_true().to_list():
                    report(position, None, None, None)
        todo = (~clean & ~blank).arg_true().to_list()
        raws = kept.gather(todo).to_list() if todo else []
        fixed = []
        for position, value in zip(todo, raws):
            converted, problem = one(value)
            report(position, value, converted, problem)
            fixed.append(converted)
        if todo:
            values = values.scatter(todo, pl.Series(fixed, dtype=pl.Utf8))
        return values.alias(spec.field)
    distinct = {value: one(value) for value in kept.unique().to_list()}
    bad = [value for value, (converted, problem) in distinct.items()
           if problem is not None or (converted is None and required)]
    if bad:
        # one pass over the column for all bad values (not one per bad value)
        bad_keys = [v for v in bad if v is not None]
        hit = kept.is_in(bad_keys) if bad_keys else pl.Series([False] * kept.len())
        if None in bad:
            hit = hit.fill_null(True) | kept.is_null()
        positions = hit.fill_null(False).arg_true()
        for position, value in zip(positions.to_list(), kept.gather(positions).to_list()):
            converted, problem = distinct[value]
            report(position, value, converted, problem)
    keys = [k for k in distinct if k is not None]
    if spec.type in ("date", "datetime", "bool", "int") or spec.codes:
        if text is not None:
            return kept.replace_strict(keys, [text(distinct[k][0]) for k in keys],
                                       default=None, return_dtype=pl.Utf8).alias(spec.field)
        return pl.Series(spec.field, [distinct[v][0] for v in kept.to_list()], dtype=pl.Object)
    return kept.replace_strict(keys, [distinct[k][0] for k in keys], default=None,
                               return_dtype=pl.Utf8).alias(spec.field)


def _report_check_digits(spec: FieldMapping, builder: Any, wrong: pl.DataFrame,
                         positions: pl.Series, where: str, numbers: list[int],
                         local_ids: list[str], issues: list[DataIssue]) -> None:
    """INVALID_ID_NUMBER issues for normalised numbers whose only fault is the check
    character: the message `convert` would raise (connectors.idcard.id_problem) and the
    value `mask_raw` would show, built from whole columns."""
    import polars as pl

    texts = wrong.select(
        (pl.lit(f"{spec.column}: ID number check digit is ") + pl.col("t").str.slice(17, 1)
         + pl.lit(", expected ") + pl.col("expected")
         + pl.lit(": a digit was probably mistyped")).alias("message"),
        (pl.col("t").str.slice(0, 6) + pl.lit("*" * 8) + pl.col("t").str.slice(14, 4))
        .alias("masked"))
    for position, message, masked in zip(positions.to_list(), texts["message"].to_list(),
                                         texts["masked"].to_list()):
        issues.append(builder.issue(
            INVALID_ID_NUMBER, message, Location(where, numbers[position]),
            column=spec.column, local_id=local_ids[position], value=masked))


def _csv_columns(connector: LedgerConnector, entity: EntityMapping
                 ) -> tuple[str, int, dict[str, pl.Series], list[int], list[DataIssue]]:
    """A CSV entity as columns without a Python grid: the connector's decoding and header
    search on the first rows, then polars parses the rest (records numbered as csv.reader
    counts them, so row numbers are the ones `read` reports)."""
    import polars as pl

    path = connector._file_of(entity)
    try:
        text = connector._decode_csv(path)
    except FileNotFoundError:
        raise LedgerFileError(connector.name, path, "file not found") from None
    head = list(islice(csv.reader(io.StringIO(text, newline=""),
                                  delimiter=connector._delimiter), _HEADER_ROWS))
    header_row = connector._find_header(entity, head, path)
    frame = pl.read_csv(io.BytesIO(text.encode("utf-8")), skip_rows=header_row - 1,
                        has_header=True, infer_schema=False, truncate_ragged_lines=True,
                        separator=connector._delimiter, quote_char='"')
    del text
    blank = frame.select(pl.all_horizontal(
        pl.all().str.strip_chars().fill_null("") == "").alias("blank")).to_series()
    numbers = [header_row + 1 + i for i in (~blank).arg_true().to_list()]
    frame = frame.filter(~blank)
    columns: dict[str, pl.Series] = {}
    for name in frame.columns:
        columns.setdefault(header_key(name), frame[name])
    builder = connector._builders[entity.name]
    where = path.name
    issues = [builder.issue("MISSING_COLUMN", f"column {spec.column} ({spec.field}) is not in "
                            "the header; its values are empty", Location(where, header_row),
                            column=spec.column)
              for spec in entity.fields.values() if header_key(spec.column) not in columns]
    id_column = columns.get(header_key(entity.local_id))
    if id_column is not None:
        # only the rows whose id repeats go through Python (a million distinct ids do not)
        ids = _stripped_or_null(id_column)
        if ids.null_count() == 0 and ids.is_sorted():
            # ledgers are usually numbered in order: a repeat then sits next to its first
            # occurrence, found by comparing neighbours instead of hashing a million ids
            twin = ((ids == ids.shift(1)).fill_null(False)
                    | (ids == ids.shift(-1)).fill_null(False))
        else:
            twin = ids.is_duplicated() & ids.is_not_null()
        repeated = twin.arg_true().to_list()
        first: dict[str, int] = {}
        for position, key in zip(repeated, ids.gather(repeated).to_list()):
            number = numbers[position]
            if key in first:
                issues.append(builder.issue(
                    "INVALID_VALUE", f"{entity.local_id} {key} repeats row {first[key]}; the "
                    "first is used", Location(where, number), column=entity.local_id,
                    local_id=key))
            else:
                first[key] = number
    return where, header_row, columns, numbers, issues


def _stripped_or_null(series: pl.Series) -> pl.Series:
    """`RecordBuilder.local_id` of CSV text cells, vectorised: stripped, blank -> None."""
    import polars as pl

    stripped = series.cast(pl.Utf8).str.strip_chars()
    return pl.select(pl.when(stripped != "").then(stripped)).to_series().alias(series.name)


async def read_columns(connector: LedgerConnector, entity: str = "member", *,
                       text: Callable[[Any], str | None] | None = None) -> LedgerColumns:
    """Read every row of `entity` as columns. Raises what `read` raises for a file that
    cannot be used (LedgerFileError: wrong encoding, missing header columns, not found).

    `text`: when given, columns whose values are not text (dates, codes, numbers) come back as
    text series, each distinct converted value passed through `text` once, instead of a
    series of Python objects (a reconciliation compares text; a million `date` objects and
    their conversion back cost seconds)."""
    spec_entity = connector._entity(entity)
    builder = connector._builders[entity]
    if connector._format == "csv":
        import polars as pl

        where, _, by_name, numbers, issues = await asyncio.to_thread(
            _csv_columns, connector, spec_entity)
        width = len(numbers)
        id_column = by_name.get(header_key(spec_entity.local_id))
        ids = (_stripped_or_null(id_column) if id_column is not None
               else pl.Series([None] * width, dtype=pl.Utf8))
        missing = ids.is_null()
        for position in missing.arg_true().to_list():
            issues.append(builder.issue(
                "MISSING_KEY",
                f"row has no usable {spec_entity.local_id} (blank, or not a text or number): "
                "fill in the record's id so it can be linked",
                Location(where, numbers[position]), column=spec_entity.local_id))
        all_kept = not missing.any()
        keep_series = (~missing).arg_true()
        local_ids = ids.drop_nulls().to_list()
        kept_numbers = numbers if all_kept else [numbers[i] for i in keep_series.to_list()]
        values: dict[str, pl.Series] = {}
        for spec in spec_entity.fields.values():
            column = by_name.get(header_key(spec.column))
            if column is None:
                values[spec.field] = pl.Series(spec.field, [None] * len(local_ids),
                                               dtype=pl.Utf8)
                continue
            kept = column if all_kept else column.gather(keep_series)
            values[spec.field] = _convert_series(
                connector, entity, spec, kept, where, kept_numbers, local_ids,
                spec.field in spec_entity.required, issues, text)
        return LedgerColumns(where, kept_numbers, local_ids, values, issues)

    table = await connector._table(spec_entity)
    issues = list(table.issues)
    grid = _transpose(table.rows)
    where = table.where
    numbers = [number for number, _ in table.rows]
    blank: tuple[Any, ...] = (None,) * len(table.rows)

    def raw_column(name: str) -> Sequence[Any]:
        index = table.columns.get(name)
        return grid[index] if index is not None and index < len(grid) else blank

    keep: list[int] = []
    local_ids = []
    all_ids = _local_ids(raw_column(header_key(spec_entity.local_id)), builder)
    for position, local_id in enumerate(all_ids):
        if local_id is None:
            issues.append(builder.issue(
                "MISSING_KEY",
                f"row has no usable {spec_entity.local_id} (blank, or not a text or number): "
                "fill in the record's id so it can be linked",
                Location(where, numbers[position]), column=spec_entity.local_id))
            continue
        keep.append(position)
        local_ids.append(local_id)
    out: dict[str, pl.Series] = {}
    for spec in spec_entity.fields.values():
        if header_key(spec.column) not in table.columns:
            import polars as pl

            out[spec.field] = pl.Series(spec.field, [None] * len(keep), dtype=pl.Utf8)
            continue
        out[spec.field] = _convert_column(
            connector, entity, spec, raw_column(header_key(spec.column)), keep, where, numbers,
            local_ids, spec.field in spec_entity.required, issues, text)
    return LedgerColumns(where, [numbers[i] for i in keep], local_ids, out, issues)
