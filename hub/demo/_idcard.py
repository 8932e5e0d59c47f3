"""Building resident ID numbers (GB 11643) for synthetic people.

The demo must produce numbers that real validators accept, so the check character is computed
exactly as the standard says (ISO 7064 MOD 11-2). The hub's own validator lives in
`connectors.idcard`; this module deliberately does not import it, so the generator can be used
to test that validator independently.
"""

from __future__ import annotations

from datetime import date
from operator import mul

__all__ = ["check_char", "make_id_number", "is_valid_id_number", "corrupt_check_char"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    total = sum(map(mul, map(int, first17), _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def make_id_number(region_code: str, birth: date, sequence: int) -> str:
    """region (6) + birth date (8) + sequence (3; odd = male) + check character."""
    first17 = f"{region_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)


def is_valid_id_number(value: str) -> bool:
    """Shape and check character only (the demo never needs region or date plausibility)."""
    v = value.strip().upper()
    return len(v) == 18 and v[:17].isdigit() and check_char(v[:17]) == v[17]


def corrupt_check_char(id_number: str) -> str:
    """The same number with a wrong check character: a typical keying error in a ledger."""
    right = id_number[17]
    wrong = _CHECK_CHARS[(_CHECK_CHARS.index(right) + 1) % len(_CHECK_CHARS)]
    return id_number[:17] + wrong
