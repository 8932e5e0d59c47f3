"""Member identity without keeping ID numbers: keyed hashes, and Relay global ids.

A member's key is HMAC-SHA256(hub secret, normalised ID number). The same person gets the same
key from every source, so records link without the hub storing or spreading the ID number;
without the secret the key cannot be reversed by enumerating the (small) ID number space.
Phones are hashed the same way, only to score candidate matches.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import unicodedata

from hub.errors import RequestError

__all__ = [
    "normalise_id_number",
    "is_valid_id_number",
    "member_key",
    "phone_hash",
    "keyed_hash",
    "to_global_id",
    "from_global_id",
]

_ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def normalise_id_number(id_number: str) -> str:
    """Strip spaces, fold full-width characters (common in Excel ledgers) and upper-case the
    check character: " 51052119900101123ｘ" -> "...123X"."""
    return "".join(unicodedata.normalize("NFKC", id_number).split()).upper()


def is_valid_id_number(id_number: str) -> bool:
    """GB 11643 shape and ISO 7064 MOD 11-2 check digit of a *normalised* ID number."""
    if not _ID_SHAPE.match(id_number):
        return False
    total = sum(int(d) * w for d, w in zip(id_number[:17], _WEIGHTS))
    return _CHECK[total % 11] == id_number[17]


def keyed_hash(secret: bytes, value: str) -> str:
    """HMAC-SHA256 hex digest: joinable inside the hub, unreadable outside it."""
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def member_key(secret: bytes, id_number: str) -> str:
    """The member's stable key. Raises ValueError for an invalid ID number, because a key made
    from a typo would silently create a second person."""
    normalised = normalise_id_number(id_number)
    if not is_valid_id_number(normalised):
        raise ValueError("not a valid GB 11643 ID number")  # never echo the value
    return keyed_hash(secret, normalised)


def phone_hash(secret: bytes, phone: str) -> str | None:
    """Keyed hash of the phone's digits (None when it has none); "+86 138-0000-0000" and
    "13800000000" hash alike."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return keyed_hash(secret, "phone:" + digits) if digits else None


def to_global_id(type_name: str, id_: str) -> str:
    """Relay global id: base64("Member:<key>")."""
    if not type_name or ":" in type_name:
        raise ValueError(f"bad type name {type_name!r}")
    return base64.b64encode(f"{type_name}:{id_}".encode("utf-8")).decode("ascii")


def from_global_id(global_id: str) -> tuple[str, str]:
    """(type, id) from a Relay global id; RequestError (BAD_REQUEST) when it is not one."""
    try:
        text = base64.b64decode(global_id.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise RequestError(f"not a global id: {global_id[:80]!r}") from None
    type_name, sep, id_ = text.partition(":")
    if not sep or not type_name or not id_:
        raise RequestError(f"not a global id: {global_id[:80]!r}")
    return type_name, id_
