"""GB 11643 resident ID numbers (公民身份号码): validation, normalisation and what they encode.

The ID number is the only key every system shares, so the hub links members by it; a single
wrong digit would link the wrong person. Every number is therefore checked in full: 18
characters, a plausible region prefix, a real birth date and the ISO 7064 MOD 11-2 check digit.
Only ASCII digits count: full-width digits typed with a Chinese input method are folded by
`normalise_id_number`, but other scripts' digits ('٣') are rejected, never read as numbers.

This is the one implementation in the project: the hub's member keys
(`hub.federation.identity`), the demo's synthetic numbers (`hub.demo`) and the masking policy
(`hub.policy.transforms`) all use it.
"""

from __future__ import annotations

import operator
import re
from datetime import date

__all__ = [
    "CHECK_CHARACTERS",
    "check_digit",
    "has_valid_check_digit",
    "normalise_id_number",
    "is_valid_id_number",
    "id_problem",
    "birth_date_of",
    "gender_of",
    "mask_id_number",
    "mask_middle",
]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: the check character for each value of (weighted sum mod 11)
CHECK_CHARACTERS = "10X98765432"
#: ASCII only: `\d` would also match other scripts' digits such as '٣'
_FIRST17 = re.compile(r"[0-9]{17}")
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_SEPARATORS = re.compile(r"[\s\-]")
_FULL_WIDTH = {0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF38: 0x58, 0xFF58: 0x58}
#: first two digits: the province-level divisions of GB/T 2260 (11 北京 … 65 新疆, 71/81/82)
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)


#: what the weighted sum of 17 digits' ASCII codes exceeds the sum of the digits' values by
_ASCII_ZERO_SUM = ord("0") * sum(_WEIGHTS)


def _check_character(first17: str) -> str:
    """`check_digit` of 17 characters already known to be ASCII digits: the weighted sum of
    their codes less the codes' zeros, one C loop over the bytes instead of 17 int() calls
    (a province sync checks every number twice)."""
    total = sum(map(operator.mul, first17.encode("ascii"), _WEIGHTS)) - _ASCII_ZERO_SUM
    return CHECK_CHARACTERS[total % 11]


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character ("0"-"9" or "X") for the first 17 digits."""
    if not _FIRST17.fullmatch(first17):
        raise ValueError("check_digit needs exactly 17 ASCII digits")
    return _check_character(first17)


def has_valid_check_digit(number: str) -> bool:
    """True when `number`, already normalised, is 17 ASCII digits and the right check character.

    Shape and checksum only, without the region and birth-date plausibility of `id_problem`:
    enough to derive a stable key, and what a generator of synthetic numbers guarantees.
    """
    return bool(_SHAPE.fullmatch(number)) and _check_character(number[:17]) == number[17]


def normalise_id_number(raw: object) -> str:
    """Strip spaces and full-width characters and upper-case the X; no validation.

    Ledgers hold the number as text with stray spaces, a lower-case x or full-width digits
    typed with a Chinese input method; all of those are the same person.
    """
    if type(raw) is str and raw.isascii() and raw.isalnum():
        # nearly every number: nothing to strip, fold or remove (no whitespace, separator or
        # full-width character is ASCII and alphanumeric), so only the upper-casing is left
        return raw.upper()
    # full-width digits and Ｘ/ｘ (U+FF10.. / U+FF38 / U+FF58) to ASCII
    text = str(raw).strip().translate(_FULL_WIDTH)
    return _SEPARATORS.sub("", text).upper()


def id_problem(raw: object) -> str | None:
    """Why `raw` is not a valid ID number (a sentence an official can act on), or None."""
    text = normalise_id_number(raw)
    if len(text) != 18:
        return f"has {len(text)} characters, a resident ID number has 18"
    if not _SHAPE.fullmatch(text):
        return "must be 17 digits followed by a digit or X"
    if int(text[:2]) not in _PROVINCES:
        return f"region prefix {text[:2]} is not a province code"
    try:
        date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return f"birth date {text[6:14]} is not a real date"
    if int(text[6:10]) < 1900:
        return f"birth year {text[6:10]} is implausible"
    expected = _check_character(text[:17])  # the shape above: 17 ASCII digits
    if text[17] != expected:
        return f"check digit is {text[17]}, expected {expected}: a digit was probably mistyped"
    return None


def is_valid_id_number(raw: object) -> bool:
    """True when `raw` normalises to a valid GB 11643 number."""
    return id_problem(raw) is None


def birth_date_of(id_number: str) -> date:
    """The birth date encoded in digits 7-14 of a valid ID number."""
    text = normalise_id_number(id_number)
    return date(int(text[6:10]), int(text[10:12]), int(text[12:14]))


def gender_of(id_number: str) -> str:
    """"male" or "female": the 17th digit (顺序码) is odd for men, even for women."""
    return "male" if int(normalise_id_number(id_number)[16]) % 2 else "female"


def mask_id_number(raw: object, *, short_tail: int = 2) -> str:
    """510521********1234 for a full number; shorter garbage keeps only its last `short_tail`
    characters (2 lets an official find the row in a DataIssue; the API passes 0)."""
    return mask_middle(normalise_id_number(raw), 6, 4, min_length=14, short_tail=short_tail)


def mask_middle(text: str, head: int, tail: int, *, min_length: int, short_tail: int = 0) -> str:
    """Star all of `text` but its first `head` and last `tail` characters.

    The rule behind every masked identifier (ID numbers, phones). A text shorter than
    `min_length` is malformed, and keeping head and tail would reveal most of it, so it keeps
    only its last `short_tail` characters.
    """
    if len(text) >= min_length:
        return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail :]
    kept = min(short_tail, len(text))
    return "*" * (len(text) - kept) + text[len(text) - kept :]
