"""Value transforms a policy can demand: full, masked, hashed, coarsened."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime
from typing import Any

from connectors import idcard
from hub.policy.base import Transform

__all__ = ["mask_id_number", "mask_phone", "mask_text", "apply"]


def mask_id_number(value: str) -> str:
    """510521199003071234 -> 510521********1234: region stays readable, birth date and
    sequence do not. A malformed value (under 14 characters) leaves fully starred."""
    return idcard.mask_id_number(value, short_tail=0)


def mask_phone(value: str) -> str:
    """13812345678 -> 138****5678; 7 characters or fewer leave fully starred."""
    return idcard.mask_middle(str(value), 3, 4, min_length=8)


def mask_text(value: str) -> str:
    """张三丰 -> 张**: keep the first character of free text such as names."""
    v = str(value)
    return v[:1] + "*" * (len(v) - 1) if v else v


_MASKERS = {"idNumber": mask_id_number, "phone": mask_phone, "contactPhone": mask_phone}


def apply(transform: Transform, field: str, value: Any, *, hash_key: bytes = b"") -> Any:
    """Return `value` as `transform` allows it to leave. DENY returns None.

    HASHED needs `hash_key` (the hub secret): with an empty key the hash is unkeyed, and anyone
    could reverse it by enumerating ID numbers or phones, so it raises ValueError instead.
    """
    if value is None or transform is Transform.FULL:
        return value
    if transform is Transform.DENY:
        return None
    if transform is Transform.MASKED:
        return _MASKERS.get(field, mask_text)(value) if isinstance(value, str) else None
    if transform is Transform.HASHED:
        if not hash_key:
            raise ValueError("the HASHED transform needs a hash_key (the hub secret)")
        return hmac.new(hash_key, str(value).encode(), hashlib.sha256).hexdigest()[:32]
    if transform is Transform.YEAR:
        if isinstance(value, (date, datetime)):
            return value.year
        return str(value)[:4]
    raise ValueError(f"unknown transform {transform!r}")
