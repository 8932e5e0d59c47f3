"""Value conversions, ID numbers and regions: good input and bad input alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors._values import ValueProblem, convert, mask_raw, parse_datetime, parse_partial_date
from connectors.base import PartialDate
from connectors.idcard import (
    birth_date_of,
    check_digit,
    gender_of,
    has_valid_check_digit,
    id_problem,
    is_valid_id_number,
    mask_id_number,
    mask_middle,
    normalise_id_number,
)
from connectors.regions import Region, region_by_code, region_by_name, region_name, resolve_region
from connectors.testing import make_id_number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2016年3月", PartialDate(2016, 3)),
        ("2016年3月5日", PartialDate(2016, 3, 5)),
        ("2016 年 3 月", PartialDate(2016, 3)),
        ("20160301", PartialDate(2016, 3, 1)),
        ("2016-03-01", PartialDate(2016, 3, 1)),
        ("2016/3/1", PartialDate(2016, 3, 1)),
        ("2016.03", PartialDate(2016, 3)),
        ("2016", PartialDate(2016)),
        ("201603", PartialDate(2016, 3)),
        (20160301, PartialDate(2016, 3, 1)),
        (42430, PartialDate(2016, 3, 1)),
        (date(2016, 3, 1), PartialDate(2016, 3, 1)),
        (datetime(2016, 3, 1, 9), PartialDate(2016, 3, 1)),
        ("2016-03-01T10:00:00+08:00", PartialDate(2016, 3, 1)),
    ],
)
def test_dates(raw: Any, expected: PartialDate) -> None:
    assert parse_partial_date(raw) == expected


@pytest.mark.parametrize(
    "raw", ["2016-02-30", "2016年13月", "去年", "2016-3-1-1", "16/3/1", 1.5, True, "20161301"]
)
def test_bad_dates(raw: Any) -> None:
    with pytest.raises(ValueProblem) as caught:
        parse_partial_date(raw)
    assert caught.value.code == "INVALID_DATE"


def test_custom_formats_keep_their_precision() -> None:
    assert parse_partial_date("03/2016", ["%m/%Y"]) == PartialDate(2016, 3)
    assert parse_partial_date("05.03.2016", ["%d.%m.%Y"]) == PartialDate(2016, 3, 5)


def test_datetimes() -> None:
    cst = timezone(timedelta(hours=8))
    utc = datetime(2024, 5, 1, 0, 30, tzinfo=UTC)
    assert parse_datetime("2024-05-01T08:30:00+08:00") == utc
    assert parse_datetime("2024-05-01T00:30:00Z") == utc
    assert parse_datetime("2024-05-01 08:30:00", tz=cst) == utc
    assert parse_datetime(datetime(2024, 5, 1, 8, 30), tz=cst) == utc
    assert (
        parse_datetime(int(utc.timestamp())) == utc
        and parse_datetime(int(utc.timestamp()) * 1000) == utc
    )
    assert parse_datetime("20240501") == datetime(2024, 5, 1, tzinfo=UTC)
    with pytest.raises(ValueProblem):
        parse_datetime("2024-05")
    with pytest.raises(ValueProblem):
        parse_datetime("soon")
    # out of datetime's range: a bad value (a data issue of its row), not an OverflowError
    for raw in (10**20, 1e300, float("inf"), "0001-01-01T00:00:00+08:00"):
        with pytest.raises(ValueProblem, match="year"):
            parse_datetime(raw)


def conv(raw: Any, value_type: str, field: str = "x", entity: str = "member", **kw: Any) -> Any:
    return convert(raw, value_type=value_type, entity=entity, field=field, **kw)


def test_typed_conversions() -> None:
    assert conv("  ", "string") is None and conv(None, "int") is None
    assert conv(12.0, "string") == "12" and conv(" 张伟 ", "string") == "张伟"
    assert conv("男", "enum", "gender") == "male" and conv("female", "enum", "gender") == "female"
    assert conv("1", "enum", "gender", codes={"1": "male"}) == "male"
    assert conv("失联", "enum", "status") == "lost_contact"
    assert conv("主题党日", "enum", "kind", entity="activity") == "themed_party_day"
    assert conv("是", "bool") is True and conv("否", "bool") is False and conv(0, "bool") is False
    assert conv("Y", "bool", codes={"Y": True}) is True
    assert conv("46", "int") == 46 and conv(7.0, "int") == 7
    assert (
        conv("+86 138-0013-8000", "phone") == "13800138000"
        and conv(13800138000, "phone") == "13800138000"
    )
    assert conv("温江", "region") == "510115" and conv("999999", "region") == "999999"
    id_number = make_id_number(sequence=7).lower()
    assert conv(" " + id_number + " ", "id_number") == id_number.upper()


@pytest.mark.parametrize(
    ("raw", "value_type", "field", "code"),
    [
        ("妖", "enum", "gender", "UNKNOWN_CODE"),
        ("3", "enum", "gender", "UNKNOWN_CODE"),
        ("也许", "bool", "x", "UNKNOWN_CODE"),
        ("四十", "int", "x", "INVALID_VALUE"),
        (True, "int", "x", "INVALID_VALUE"),
        ("12", "phone", "x", "INVALID_VALUE"),
        ("138abc", "phone", "x", "INVALID_VALUE"),
        ("火星", "region", "x", "UNKNOWN_CODE"),
        ("51052119850307001", "id_number", "x", "INVALID_ID_NUMBER"),
    ],
)
def test_bad_values(raw: Any, value_type: str, field: str, code: str) -> None:
    with pytest.raises(ValueProblem) as caught:
        conv(raw, value_type, field, codes={"1": "male"} if raw == "3" else None)
    assert caught.value.code == code and caught.value.message


def test_masking() -> None:
    assert mask_raw("id_number", "510521198503070011") == "510521********0011"
    assert mask_raw("phone", "13800138000") == "138****8000"
    assert mask_raw("phone", "12") == "12" and mask_raw("id_number", "123") == "*23"
    assert mask_raw("string", "张伟") == "张伟"


def test_id_numbers() -> None:
    # the GB 11643 worked example
    assert check_digit("11010519491231002") == "X"
    valid = make_id_number("510521", "19850307", 12)
    assert (
        is_valid_id_number(valid)
        and gender_of(valid) == "female"
        and birth_date_of(valid) == date(1985, 3, 7)
    )
    assert normalise_id_number("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"
    assert mask_id_number(valid) == valid[:6] + "********" + valid[-4:]
    wrong = valid[:17] + ("0" if valid[17] != "0" else "1")
    assert "check digit" in (id_problem(wrong) or "")
    assert "18" in (id_problem(valid[:-1]) or "")
    assert "province" in (id_problem("99" + valid[2:]) or "")
    bad_date = "510521" + "19850230" + "001"
    assert "not a real date" in (id_problem(bad_date + check_digit(bad_date)) or "")
    with pytest.raises(ValueError):
        check_digit("123")


@pytest.mark.parametrize("digit", ["٣", "३", "𝟑"])  # Arabic-Indic, Devanagari, mathematical bold
def test_id_numbers_take_ascii_digits_only(digit: str) -> None:
    valid = make_id_number("510521", "19850307", 3)
    other_script = (
        valid[:16] + digit + valid[17]
    )  # int(digit) == 3, so only the shape can reject it
    assert id_problem(other_script) == "must be 17 digits followed by a digit or X"
    assert not is_valid_id_number(other_script) and not has_valid_check_digit(other_script)
    with pytest.raises(ValueError):
        check_digit(other_script[:17])
    assert has_valid_check_digit(valid)


def test_mask_middle_never_reveals_more_of_a_short_value() -> None:
    assert mask_middle("13812345678", 3, 4, min_length=11) == "138****5678"
    assert mask_middle("1381234567", 3, 4, min_length=11) == "**********"
    assert mask_middle("1381234567", 3, 4, min_length=11, short_tail=2) == "********67"
    assert (
        mask_middle("7", 3, 4, min_length=11, short_tail=2) == "7"
        and mask_middle("", 3, 4, min_length=11) == ""
    )
    assert mask_id_number("5105211990030", short_tail=0) == "*************"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("温江区", "510115"),
        ("温江", "510115"),
        ("成都市温江区", "510115"),
        ("四川省成都市温江区", "510115"),
        ("泸县", "510521"),
        ("叙州区", "511502"),
        ("宜宾市叙州区", "511502"),
        ("叙永县", "510524"),
        ("成都", "510100"),
        ("德阳", "510600"),
        ("眉山", "511400"),
        ("资阳", "512000"),
        ("泸州", "510500"),
        ("杭州", "330100"),
        ("上城区", "330102"),
        ("宁波", "330200"),
        ("鹿城区", "330302"),
        ("东莞", "441900"),
        ("深圳市", "440300"),
        ("蓝山县", "431127"),
        ("永兴", "431023"),
        ("郴州市", "431000"),
        ("四川", "510000"),
        ("浙江省", "330000"),
        ("广东", "440000"),
        ("湖南省", "430000"),
        ("龙泉驿区", "510112"),
        ("龙泉驿", "510112"),
        ("成都市龙泉驿区", "510112"),
        ("四川省成都市龙泉驿区", "510112"),
        ("鄞州区", "330212"),
        ("鄞州", "330212"),
        ("宁波市鄞州区", "330212"),
        ("浙江省宁波市鄞州区", "330212"),
    ],
)
def test_regions(name: str, code: str) -> None:
    assert resolve_region(name) == code


def test_article_districts_are_listed_under_their_cities() -> None:
    assert region_by_code("510112") == Region("510112", "龙泉驿区", "510100")
    assert region_by_code("330212") == Region("330212", "鄞州区", "330200")
    assert region_name("510112") == "龙泉驿区" and region_name("330212") == "鄞州区"


def test_unknown_region() -> None:
    assert resolve_region("火星") is None and region_by_name("") is None


@pytest.mark.parametrize("code", ["５１０１１５", "51011٥", "5101150"])
def test_codes_are_six_ascii_digits(code: str) -> None:
    assert resolve_region(code) is None


@pytest.mark.parametrize(
    "fmt", ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m", "%Y", "%d.%m.%Y",
            "%Y %m %d", "%Y-%m-%dT", "%Y(%m)", "%m/%d/%Y", "%Y-%m-%d %H:%M", "%Y%%%m"],
)
def test_date_formats_parse_exactly_as_strptime(fmt: str) -> None:
    """The regex fast path of plain date formats agrees with datetime.strptime on every text,
    good or bad (connectors._values._strptime_date)."""
    import random
    from datetime import datetime

    from connectors._values import _strptime_date

    rng = random.Random(fmt)
    pieces = ["2016", "1999", "0000", "3", "03", "12", "13", "0", "29", "30", "31", "02", " 5",
              "-", "/", ".", " ", "  ", "年", "月", "日", "T", "(", ")", "x", "%", "２０１６",
              "1:5"]
    texts = [datetime(2016, 2, 29).strftime(fmt), datetime(1999, 12, 31).strftime(fmt)]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 7))) for _ in range(3000)]
    for text in texts:
        try:
            parsed = datetime.strptime(text, fmt)
            expected: object = (parsed.year, parsed.month, parsed.day)
        except ValueError:
            expected = ValueError
        try:
            got: object = _strptime_date(text, fmt)
        except ValueError:
            got = ValueError
        assert got == expected, (fmt, text)


# ---- remembered date parsing, against parsing afresh ----------------------------------------

_DATE_TEXT = st.text(alphabet=st.sampled_from("0123456789-/.年月日号 \t"), max_size=14)


def _parsed(raw: str, formats: Sequence[str], *, fresh: bool) -> tuple[str, Any]:
    from connectors._values import _parse_date_text

    try:
        value = (_parse_date_text.__wrapped__(raw, tuple(formats)) if fresh
                 else parse_partial_date(raw, formats))
    except ValueProblem as problem:
        return "problem", (problem.code, problem.message)
    return "date", (value, str(value), value.precision)


@settings(max_examples=500, deadline=None)
@given(raw=st.one_of(_DATE_TEXT, st.sampled_from(["2016-03-05", " 2016年3月 ", "201603"])),
       formats=st.sampled_from([(), ("%Y-%m-%d",), ("%Y/%m",), ("%Y年%m月%d日", "%Y%m%d")]))
def test_remembered_dates_are_parsed_afresh_alike(raw: str, formats: tuple[str, ...]) -> None:
    """parse_partial_date remembers a text's date for plain formats: the first and the second
    answer (remembered) are what parsing afresh gives, problems included."""
    fresh = _parsed(raw, formats, fresh=True)
    assert _parsed(raw, formats, fresh=False) == fresh
    assert _parsed(raw, formats, fresh=False) == fresh
    assert _parsed(raw, list(formats), fresh=False) == fresh


def test_dates_of_locale_formats_are_not_remembered() -> None:
    from connectors._values import _parse_date_text

    before = _parse_date_text.cache_info().currsize
    assert parse_partial_date("Mar 2016", ("%b %Y",)) == PartialDate(2016, 3)
    assert _parse_date_text.cache_info().currsize == before
