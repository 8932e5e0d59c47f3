"""Building resident ID numbers (GB 11643) for synthetic people.

The demo must produce numbers that real validators accept, so the check character comes from
the hub's own `connectors.idcard`; tests pin that against the standard's published examples
(tests/demo/test_idcard.py, tests/connectors/test_values.py).
"""

from __future__ import annotations

from datetime import date

from connectors.idcard import CHECK_CHARACTERS, check_digit

__all__ = ["make_id_number", "corrupt_check_char"]


def make_id_number(region_code: str, birth: date, sequence: int) -> str:
    """region (6) + birth date (8) + sequence (3; odd = male) + check character."""
    first17 = f"{region_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_digit(first17)


def corrupt_check_char(id_number: str) -> str:
    """The same number with a wrong check character: a typical keying error in a ledger."""
    right = id_number[17]
    wrong = CHECK_CHARACTERS[(CHECK_CHARACTERS.index(right) + 1) % len(CHECK_CHARACTERS)]
    return id_number[:17] + wrong
