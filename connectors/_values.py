"""Raw cells and JSON values -> canonical Python values, or a `ValueProblem` saying what to fix.

Every source spells the same fact differently: 男 / 1 / "M", 2016年3月 / 20160301 / an Excel
date cell, 温江区 / 510115. Conversions are chosen by the canonical field's type
(`connectors.canonical`), so a mapping file rarely says more than which column holds what. A
value that cannot be converted raises `ValueProblem`; the connector turns it into a `DataIssue`
next to the record (the field becomes None), so one bad cell never stops a sync.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from connectors.base import PartialDate
from connectors.canonical import ENUM_SYNONYMS, ENUMS
from connectors.idcard import id_problem, mask_id_number, mask_middle, normalise_id_number
from connectors.regions import resolve_region

__all__ = [
    "ValueProblem",
    "convert",
    "parse_partial_date",
    "parse_datetime",
    "mask_raw",
    "is_blank",
    "raw_text",
]

INVALID_ID_NUMBER = "INVALID_ID_NUMBER"
INVALID_DATE = "INVALID_DATE"
UNKNOWN_CODE = "UNKNOWN_CODE"
MISSING_VALUE = "MISSING_VALUE"
INVALID_VALUE = "INVALID_VALUE"


class ValueProblem(ValueError):
    """One cell that cannot be converted; `code` is the DataIssue code, the message a fix."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


def is_blank(raw: object) -> bool:
    """None, "" and whitespace-only strings are all "no value" (blank ledger cells)."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def raw_text(raw: object) -> str:
    """A raw value as text; integral floats lose their ".0" (Excel stores codes as numbers)."""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def mask_raw(value_type: str, raw: object) -> str | None:
    """The raw value for a DataIssue: ID numbers and phones masked, others as text."""
    if raw is None:
        return None
    text = raw_text(raw)
    if value_type == "id_number":
        return mask_id_number(text)
    if value_type == "phone":
        return mask_middle(re.sub(r"\D", "", text), 3, 4, min_length=11, short_tail=2)
    return text[:200]


# ---- dates ---------------------------------------------------------------------------------

_EXCEL_EPOCH = date(1899, 12, 30)
_CN_DATE = re.compile(r"^(\d{4})\s*年(?:\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*[日号])?)?$")
_SEP_DATE = re.compile(r"^(\d{4})([-/.])(\d{1,2})(?:\2(\d{1,2}))?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?$")
_ISO_DATETIME = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})[T ]\d")


def _precision_of(fmt: str) -> int:
    if "%d" in fmt or "%j" in fmt:
        return 3
    return 2 if ("%m" in fmt or "%b" in fmt or "%B" in fmt) else 1


def _partial(year: int, month: int | None, day: int | None, text: str) -> PartialDate:
    try:
        return PartialDate(year, month, day)
    except ValueError:
        raise ValueProblem(INVALID_DATE, f"{text!r} is not a real date") from None


#: strptime's own patterns for the directives of a plain date format (_strptime.TimeRE)
_DIRECTIVES = {"Y": r"(\d\d\d\d)", "m": r"(1[0-2]|0[1-9]|[1-9])",
               "d": r"(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])"}
_SPECIAL = re.compile(r"([\\.^$*+?\(\){}\[\]|])")
_WHITESPACE = re.compile(r"\s+")
_PLAIN_FORMATS: dict[str, tuple[re.Pattern[str], tuple[str, ...]] | None] = {}


def _plain_format(fmt: str) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """A format of only %Y, %m, %d and literal text (each directive once, %Y among them) as a
    regex matching exactly what strptime accepts for it, with the directives in order; None
    for any other format (strptime parses those). strptime builds and matches the same regex
    but through a dozen Python calls and a locale check: a birthday column of a province paid
    for that 250,000 times."""
    if fmt in _PLAIN_FORMATS:
        return _PLAIN_FORMATS[fmt]
    plain: tuple[re.Pattern[str], tuple[str, ...]] | None = None
    parts = re.split(r"(%.)", fmt)
    directives = tuple(p[1] for p in parts[1::2])
    if (all(d in _DIRECTIVES for d in directives) and "Y" in directives
            and len(set(directives)) == len(directives) and "%" not in "".join(parts[::2])):
        # literal text as strptime treats it: its regex characters escaped, whitespace \s+
        pattern = "".join(
            _DIRECTIVES[p[1]] if i % 2 else _WHITESPACE.sub(r"\\s+", _SPECIAL.sub(r"\\\1", p))
            for i, p in enumerate(parts)
        )
        plain = (re.compile(pattern, re.IGNORECASE), directives)
    _PLAIN_FORMATS[fmt] = plain
    return plain


def _strptime_date(text: str, fmt: str) -> tuple[int, int, int]:
    """(year, month, day) of `text` in date format `fmt`, as datetime.strptime parses it;
    ValueError when it does not match."""
    plain = _plain_format(fmt)
    if plain is None:
        parsed = datetime.strptime(text, fmt)
        return parsed.year, parsed.month, parsed.day
    match = plain[0].match(text)
    if match is None or match.end() != len(text):
        raise ValueError(f"{text!r} does not match {fmt!r}")
    found = dict(zip(plain[1], match.groups()))
    year, month, day = int(found["Y"]), int(found.get("m", 1)), int(found.get("d", 1))
    date(year, month, day)  # strptime refuses 2016-02-30 the same way
    return year, month, day


def parse_partial_date(raw: object, formats: Sequence[str] = ()) -> PartialDate:
    """A date at the precision the source wrote it: 2016年3月 -> 2016-03, never 2016-03-01.

    Accepts date/datetime objects (Excel date cells), Excel serial numbers, yyyymmdd / yyyymm
    integers, the mapping's own `formats` (tried first), 2016年3月5日, 2016-03-01, 2016/3/1,
    2016.03, 20160301, 201603, 2016 and ISO datetimes (the date part).
    """
    if isinstance(raw, datetime):
        return PartialDate.from_date(raw.date())
    if isinstance(raw, date):
        return PartialDate.from_date(raw)
    if isinstance(raw, bool):
        raise ValueProblem(INVALID_DATE, f"{raw!r} is not a date")
    if isinstance(raw, (int, float)):
        number = int(raw)
        if number != raw:
            raise ValueProblem(INVALID_DATE, f"{raw!r} is not a date")
        if 10000 <= number <= 99999:  # an Excel serial day number in a cell without a date format
            return PartialDate.from_date(_EXCEL_EPOCH + timedelta(days=number))
        raw = str(number)
    formats = tuple(formats)
    if formats in _PLAIN_ONLY or all(_plain_format(fmt) is not None for fmt in formats):
        _PLAIN_ONLY.add(formats)
        return _parse_date_text(str(raw), formats)  # a pure function of the two: remembered
    return _parse_date_text.__wrapped__(str(raw), formats)


#: mappings' date format lists that are all plain (`_plain_format`)
_PLAIN_ONLY: set[tuple[str, ...]] = set()


@functools.lru_cache(maxsize=1 << 15)
def _parse_date_text(raw: str, formats: tuple[str, ...]) -> PartialDate:
    """`parse_partial_date` of text, remembered when its formats are plain (%Y/%m/%d: no
    locale, no strptime): a province's birthdays and arrival dates are a few tens of thousands
    of texts, each parsed for every member who has it. A PartialDate is immutable, so records
    may share one; a ValueProblem is raised again, never remembered."""
    text = re.sub(r"\s+", " ", raw.strip())
    for fmt in formats:
        try:
            year, month, day = _strptime_date(text, fmt)
        except ValueError:
            continue
        precision = _precision_of(fmt)
        return PartialDate(
            year,
            month if precision >= 2 else None,
            day if precision == 3 else None,
        )
    for pattern in (_CN_DATE, _COMPACT):
        if match := pattern.match(text):
            y, m, d = match.groups()
            return _partial(int(y), int(m) if m else None, int(d) if d else None, text)
    if match := _SEP_DATE.match(text):
        y, _, m, d = match.groups()
        return _partial(int(y), int(m), int(d) if d else None, text)
    if match := _ISO_DATETIME.match(text):
        return parse_partial_date(match.group(1), ())
    hint = f" (expected one of {', '.join(formats)})" if formats else ""
    raise ValueProblem(
        INVALID_DATE,
        f"{text!r} is not a date{hint}; write it as 2016-03-05, 20160305 or 2016年3月",
    )


def parse_datetime(raw: object, formats: Sequence[str] = (), *, tz: tzinfo = UTC) -> datetime:
    """An aware UTC datetime. Naive values are taken to be in `tz` (the source's time zone).

    Accepts datetime objects, ISO 8601 text (with or without offset, "Z" too), the mapping's
    `formats`, Unix timestamps in seconds or milliseconds, and plain dates (midnight).
    """
    value: datetime
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        value = datetime.combine(raw, time())
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool) and raw > 10**9:
        seconds = raw / 1000 if raw > 10**11 else raw
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            # past year 9999 (or infinite): a bad value of this row, not a failed page
            raise ValueProblem(
                INVALID_DATE,
                f"{raw!r} is not a Unix timestamp this side of year 9999; "
                "use seconds or milliseconds since 1970, or ISO 8601",
            ) from None
    else:
        text = str(raw).strip()
        parsed: datetime | None = None
        for fmt in formats:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                try:
                    day = parse_partial_date(text)
                except ValueProblem:
                    day = None
                if day is None or day.precision != "day":
                    raise ValueProblem(
                        INVALID_DATE,
                        f"{text!r} is not a date-time; "
                        "use ISO 8601 such as 2024-05-01T08:30:00+08:00",
                    ) from None
                parsed = datetime.combine(day.to_date(), time())
        value = parsed
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+08:00 has no UTC datetime: the row's value is bad, the page is not
        raise ValueProblem(
            INVALID_DATE,
            f"{value.isoformat()} is outside the years 1-9999 in UTC; check the date",
        ) from None


# ---- other types ---------------------------------------------------------------------------

_TRUE = frozenset({"是", "有", "愿意", "y", "yes", "true", "1", "t", "√"})
_FALSE = frozenset({"否", "无", "不愿意", "n", "no", "false", "0", "f", "×"})


def _code_lookup(raw: object, codes: Mapping[str, Any] | None) -> tuple[bool, Any]:
    if not codes:
        return False, None
    key = raw_text(raw) if not isinstance(raw, bool) else ("true" if raw else "false")
    if key in codes:
        return True, codes[key]
    return False, None


def _to_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = raw_text(raw).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueProblem(UNKNOWN_CODE, f"{raw_text(raw)!r} is not yes/no; write 是 or 否")


def _to_int(raw: object) -> int:
    if isinstance(raw, bool):
        raise ValueProblem(INVALID_VALUE, f"{raw!r} is not a whole number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    text = raw_text(raw)
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    raise ValueProblem(INVALID_VALUE, f"{text!r} is not a whole number")


def _to_float(raw: object) -> float:
    """A decimal number (学时 1.5, 成绩 92.5); NaN and infinities are not numbers here."""
    if isinstance(raw, bool):
        raise ValueProblem(INVALID_VALUE, f"{raw!r} is not a number")
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = raw_text(raw)
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
            raise ValueProblem(INVALID_VALUE, f"{text!r} is not a number")
        value = float(text)
    if not math.isfinite(value):
        raise ValueProblem(INVALID_VALUE, f"{raw!r} is not a finite number")
    return value


def _to_phone(raw: object) -> str:
    text = raw_text(raw)
    digits = re.sub(r"[\s\-()（）]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    if not digits.isdigit() or not 7 <= len(digits) <= 12:
        raise ValueProblem(
            INVALID_VALUE, "phone number must be 7-12 digits (11 for a mobile number)"
        )
    return digits


def _to_enum(raw: object, entity: str, field: str) -> str:
    allowed = ENUMS.get((entity, field), frozenset())
    text = raw_text(raw)
    synonyms = ENUM_SYNONYMS.get((entity, field), {})
    if text in synonyms:
        return synonyms[text]
    if text in allowed:
        return text
    if text.lower() in allowed:
        return text.lower()
    choices = "、".join(sorted(synonyms)) or ", ".join(sorted(allowed))
    raise ValueProblem(
        UNKNOWN_CODE, f"{text!r} is not a known {field}; use one of {choices} or add it to `codes`"
    )


def convert(
    raw: object,
    *,
    value_type: str,
    entity: str,
    field: str,
    codes: Mapping[str, Any] | None = None,
    formats: Sequence[str] = (),
    tz: tzinfo = UTC,
) -> Any:
    """Convert one raw value for canonical `field`; blank -> None; raises ValueProblem.

    A `codes` table is applied first (its values are already canonical); when a field has a
    codes table and the value is not in it, enum and bool fields still try the built-in
    Chinese words before reporting UNKNOWN_CODE, so a mapping need not repeat 男/女.
    """
    if is_blank(raw):
        return None
    if isinstance(raw, str):
        raw = raw.strip()
    found, coded = _code_lookup(raw, codes)
    if found:
        return coded
    if value_type == "string":
        return raw_text(raw)
    if value_type == "id_number":
        if (problem := id_problem(raw)) is not None:
            raise ValueProblem(INVALID_ID_NUMBER, f"ID number {problem}")
        return normalise_id_number(raw)
    if value_type == "date":
        return parse_partial_date(raw, formats)
    if value_type == "datetime":
        return parse_datetime(raw, formats, tz=tz)
    if value_type == "bool":
        return _to_bool(raw)
    if value_type == "int":
        return _to_int(raw)
    if value_type == "float":
        return _to_float(raw)
    if value_type == "phone":
        return _to_phone(raw)
    if value_type == "region":
        code = resolve_region(raw_text(raw))
        if code is None:
            raise ValueProblem(
                UNKNOWN_CODE,
                f"{raw_text(raw)!r} is not a known place; write the 6-digit GB/T 2260 code",
            )
        return code
    if value_type == "enum":
        if codes:
            allowed = ENUMS.get((entity, field), frozenset())
            text = raw_text(raw)
            if text not in allowed and text not in ENUM_SYNONYMS.get((entity, field), {}):
                listed = "、".join(sorted(codes))
                raise ValueProblem(
                    UNKNOWN_CODE, f"{text!r} is not a known {field} code; expected one of {listed}"
                )
        return _to_enum(raw, entity, field)
    raise ValueProblem(INVALID_VALUE, f"unknown value type {value_type!r}")
