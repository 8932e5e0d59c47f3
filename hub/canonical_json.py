"""Strict JSON for signed documents: RFC 8785 canonical bytes out, duplicate-free parsing in.

Signatures cover bytes, so two parties must produce the same bytes for the same document:
that is RFC 8785 (JCS). On the way in, a JSON parser that keeps the last of two equal keys would
let a signer and a verifier read different documents from the same bytes, so duplicates are
refused, and a payload that is not already canonical is refused (one document, one encoding).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import rfc8785

from hub.errors import ContractError

__all__ = ["canonical", "strict_loads", "loads_canonical", "b64url", "b64url_decode"]


#: the standard library's C encoder writes RFC 8785's text for strings, integers, true, false,
#: null, arrays and objects: the same escapes (\b \t \n \f \r, other controls as \u00xx in
#: lowercase, '"' and '\\', nothing else), no whitespace, keys sorted by code point
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                           allow_nan=False).encode
_INT_RANGE = 2**53 - 1  # RFC 8785 (I-JSON): integers beyond it are refused (rfc8785)


def _plain(value: Any) -> bool:
    """Whether `value` holds nothing where the C encoder and RFC 8785 may differ: no float
    (ECMAScript number formatting), no integer beyond 2**53 - 1, no key that is not a string.
    Anything else the encoder refuses (an unknown type, a cycle) takes the RFC 8785 way."""
    if isinstance(value, dict):
        for key in value:
            if type(key) is not str and not isinstance(key, str):
                return False
        items: Any = value.values()
    elif isinstance(value, list | tuple):
        items = value
    elif isinstance(value, float):
        return False
    elif isinstance(value, int):
        return -_INT_RANGE <= value <= _INT_RANGE
    else:
        return True
    for item in items:
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if -_INT_RANGE <= item <= _INT_RANGE:
                continue
            return False
        if not _plain(item):
            return False
    return True


def _fast_canonical(value: Any) -> bytes | None:
    """RFC 8785 bytes by the C encoder, or None where it might not write them (the caller
    then takes rfc8785's pure-Python way: 10-20x slower, and every request canonicalises its
    token and its audit entry)."""
    try:
        if not _plain(value):
            return None
        text = _ENCODE(value)
    except (TypeError, ValueError, RecursionError):
        return None
    # keys sorted by code point are sorted by UTF-16 code unit (RFC 8785 3.2.3) unless a key
    # mixes characters from U+E000 up: then sort as RFC 8785 says
    if not text.isascii() and max(text) >= "\ue000":
        return None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: rfc8785 says what is wrong
        return None


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON value."""
    fast = _fast_canonical(value)
    if fast is not None:
        return fast
    try:
        return rfc8785.dumps(value)
    except RecursionError:
        raise ContractError("value is nested too deeply to canonicalise") from None
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ContractError(f"value cannot be canonicalised as RFC 8785 JSON: {exc}") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ContractError(f"duplicate JSON key {key!r}: refuse ambiguous documents")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ContractError(f"{name} is not JSON (RFC 8259)")


def strict_loads(data: bytes | str) -> Any:
    """Parse JSON, refusing duplicate object keys and NaN/Infinity."""
    try:
        return json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ContractError(f"not valid JSON: {exc}") from exc
    except RecursionError:
        # a few KB of "[[[[..." (a token header fits) exhausts the parser's stack
        raise ContractError("not valid JSON: nested too deeply") from None


def loads_canonical(data: bytes) -> Any:
    """Parse signed bytes: strict, and refused unless they are already RFC 8785 canonical."""
    value = strict_loads(data)
    if canonical(value) != data:
        raise ContractError(
            "payload is not RFC 8785 canonical JSON: sign the canonical form "
            "(sorted keys, no whitespace, shortest numbers)"
        )
    return value


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of `b64url`; refuses padding and characters outside the URL-safe alphabet."""
    if not isinstance(text, str) or "=" in text or any(c in text for c in "+/ \n"):
        raise ContractError("malformed base64url value")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ContractError(f"malformed base64url value: {exc}") from exc
