"""Member identity without keeping ID numbers: keyed hashes, and Relay global ids.

A member's key is HMAC-SHA256(hub secret, normalised ID number). The same person gets the same
key from every source, so records link without the hub storing or spreading the ID number;
without the secret the key cannot be reversed by enumerating the (small) ID number space.
Phones are hashed the same way, only to score candidate matches.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from typing import Any

from connectors.idcard import has_valid_check_digit, normalise_id_number
from hub.errors import RequestError

__all__ = [
    "hmac_sha256_hex",
    "member_key",
    "phone_hash",
    "keyed_hash",
    "to_global_id",
    "from_global_id",
]


_BLOCK = 64  # SHA-256's block size in bytes
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


@functools.lru_cache(maxsize=16)
def _pads(secret: bytes) -> tuple[Any, Any]:
    """SHA-256 states after HMAC's inner and outer key pads (RFC 2104) for `secret`."""
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


def hmac_sha256_hex(secret: bytes, data: bytes) -> str:
    """hmac.new(secret, data, hashlib.sha256).hexdigest(), from the key's pads hashed once:
    a sync hashes each member's ID number, phone and record (750,000 HMACs a province), and
    setting the key up was most of each one (5 us -> 1 us)."""
    inner, outer = _pads(secret)
    inner = inner.copy()
    inner.update(data)
    outer = outer.copy()
    outer.update(inner.digest())
    return str(outer.hexdigest())


def keyed_hash(secret: bytes, value: str) -> str:
    """HMAC-SHA256 hex digest: joinable inside the hub, unreadable outside it."""
    return hmac_sha256_hex(secret, value.encode("utf-8"))


def member_key(secret: bytes, id_number: str) -> str:
    """The member's stable key. Raises ValueError for an invalid ID number, because a key made
    from a typo would silently create a second person.

    Spellings of one number (spaces, full-width digits from Excel, a lower-case x) give one
    key; only ASCII digits count (`connectors.idcard`). Shape and check digit are enough here:
    the connectors have already judged region and birth date plausibility.
    """
    normalised = normalise_id_number(id_number)  # " 51052119900101123ｘ" -> "...123X"
    if not has_valid_check_digit(normalised):
        raise ValueError("not a valid GB 11643 ID number")  # never echo the value
    return keyed_hash(secret, normalised)


_NOT_DIGIT = re.compile(r"\D")


def phone_hash(secret: bytes, phone: str) -> str | None:
    """Keyed hash of the phone's digits (None when it has none); "+86 138-0000-0000" and
    "13800000000" hash alike."""
    digits = _NOT_DIGIT.sub("", phone)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return keyed_hash(secret, "phone:" + digits) if digits else None


def to_global_id(type_name: str, id_: str) -> str:
    """Relay global id: base64("Member:<key>")."""
    if not type_name or ":" in type_name:
        raise ValueError(f"bad type name {type_name!r}")
    return base64.b64encode(f"{type_name}:{id_}".encode()).decode("ascii")


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
