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


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON value."""
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
