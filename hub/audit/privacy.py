"""What may enter the audit log (and the server's logs) about a request: ids, never personal data.

The audit log is kept for years and read by every owning party, so it holds only values that
cannot be a person's data:

- `user` and `purpose` of a request token are *ids*: ASCII, 1..64 characters of
  `[A-Za-z0-9._-]` (purposes: the contract schema's `[a-z][a-z0-9_-]*`), and never a run of
  7 or more digits, which is what phone numbers (11 digits), ID numbers (18) and landlines
  (7-8) look like. A token carrying anything else (a name, `张三`, `13812345678`) is refused with
  401 (`personal_data`) instead of being stored hashed: a hashed user id is useless to the owner
  reading its access log, and a refusal tells the party's developer at once what to fix.
- An operation is recorded by the hash of its literal-stripped text: every string, number and
  comment is replaced before hashing, so neither a searched name nor a check-in note inlined in
  the query can be recovered from the log, not even by hashing guesses (a phone number has
  only 10^11 candidates; sha256 of the literal text would give it away).
- A source address is truncated to its network (/24 for IPv4, /48 for IPv6) before it is
  recorded with a rejected request.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re

from graphql import GraphQLError
from graphql.language import Lexer, Source, TokenKind

from hub.settings import PURPOSE

__all__ = [
    "SAFE_USER",
    "SAFE_PURPOSE",
    "unsafe_id_reason",
    "strip_literals",
    "operation_hash",
    "source_network",
]

SAFE_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SAFE_PURPOSE = PURPOSE  # the contracts' purpose pattern (hub.settings)
#: 7+ consecutive digits: phone numbers, ID numbers, landlines
_DIGIT_RUN = re.compile(r"[0-9]{7,}")

#: what a literal becomes in the stripped text
_LITERAL_TOKENS = {TokenKind.STRING: '"?"', TokenKind.BLOCK_STRING: '"?"',
                   TokenKind.INT: "0", TokenKind.FLOAT: "0"}


def unsafe_id_reason(what: str, value: str | None, pattern: re.Pattern[str]) -> str | None:
    """Why `value` cannot be recorded as a `what` id (None: it can)."""
    if value is None:
        return None
    if not pattern.match(value):
        return (f"{what} must be an id matching {pattern.pattern} (no names, no free text); "
                "put the official's staff id in `sub`")
    if _DIGIT_RUN.search(value):
        return (f"{what} must not contain 7 or more consecutive digits (it looks like a phone "
                "or ID number); use an opaque staff id")
    return None


def strip_literals(document: str) -> str:
    """`document` as its tokens with every literal replaced and comments dropped, joined by
    single spaces: the shape of the operation, none of its values. A document that does not
    lex keeps the tokens before the error, then `<syntax error>`."""
    out: list[str] = []
    lexer = Lexer(Source(document))
    try:
        token = lexer.advance()
        while token.kind is not TokenKind.EOF:
            out.append(_LITERAL_TOKENS.get(token.kind) or token.value or token.kind.value)
            token = lexer.advance()
    except GraphQLError:
        out.append("<syntax error>")
    return " ".join(out)


#: documents up to this many characters have their hash remembered (`operation_hash`)
_CACHED_DOCUMENT = 4096


def operation_hash(document: str, operation_name: str | None = None) -> str:
    """sha256 of the operation name and the literal-stripped text (variables and literals
    are left out on purpose: they may carry personal data such as a name being searched).
    Clients send the same few documents again and again (values in variables): a short one's
    hash is remembered, so lexing it is paid once per process, not per request (~0.15 ms)."""
    if len(document) <= _CACHED_DOCUMENT:
        return _cached_operation_hash(document, operation_name)
    return _operation_hash(document, operation_name)


def _operation_hash(document: str, operation_name: str | None) -> str:
    return hashlib.sha256(f"{operation_name or ''}\n{strip_literals(document)}".encode()
                          ).hexdigest()


#: at most 512 documents of at most 4 KB each: 2 MB (strawberry keeps as many texts itself)
_cached_operation_hash = functools.lru_cache(maxsize=512)(_operation_hash)


def source_network(host: str | None) -> str | None:
    """The client's network, not its address: 203.0.113.7 -> 203.0.113.0/24."""
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "unknown"
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
