from datetime import date

import pytest

from connectors.idcard import check_digit, has_valid_check_digit
from hub.demo._idcard import corrupt_check_char, make_id_number


@pytest.mark.parametrize(
    "number",
    ["11010519491231002X", "440524188001010014", "510521199003071234"[:17] + "?"],
)
def test_check_char_matches_published_examples(number: str) -> None:
    if number.endswith("?"):  # computed, then verified by the independent definition below
        number = number[:17] + check_digit(number[:17])
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    expected = "10X98765432"[sum(int(d) * w for d, w in zip(number, weights)) % 11]
    assert number[17] == expected
    assert has_valid_check_digit(number)


def test_make_and_corrupt() -> None:
    number = make_id_number("510521", date(1990, 3, 7), 123)
    assert number.startswith("51052119900307123") and has_valid_check_digit(number)
    bad = corrupt_check_char(number)
    assert bad[:17] == number[:17] and not has_valid_check_digit(bad)


def test_rejects_wrong_shapes() -> None:
    assert not has_valid_check_digit("51052119900307123")
    with pytest.raises(ValueError):
        check_digit("5105211990030712X")
