"""报到 check-in: a member reports to a destination branch (workflow 1).

Two actions, both under the contract's `checkin` record permission:

- `checkin_code`: the destination party issues a check-in code (报到码) for one of its
  branches, valid for a while. The code is a token the hub signs (HMAC-SHA256 under a key
  derived from the hub secret) naming the issuing entry, the organisation, the party and the
  expiry: `YXC1.<claims>.<mac>`, base64url. It is derived from the entry alone, so a retried
  issue (same idempotency key) gives the same code. The hub renders it as a QR code
  (hub.api.checkin_code, `/checkin-code/{org}`) for the branch to print or show.
- `checkin`: the member checked in, by a code (the entry answers the code's entry) or named
  by the branch directly. `verify_code` refuses a forged, expired or other organisation's
  code with its own error code. The check-in links the member to the branch in the index
  (`link_to_branch`, run in the entry's transaction).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.canonical_json import b64url, b64url_decode, canonical, strict_loads
from hub.clock import format_time, from_epoch, to_epoch
from hub.errors import RequestError
from hub.exchange.ledger import Entry
from hub.exchange.payloads import Payload, action, check_int, check_text
from hub.store.models import MemberRow, OrganizationRow

__all__ = ["CheckIn", "CheckInCodeIssued", "CodeClaims", "MAX_NOTE", "MAX_VALID_FOR",
           "code_for", "expiry_of", "verify_code", "link_to_branch", "CheckInCodeInvalid",
           "CheckInCodeExpired", "CheckInCodeWrongOrganization"]

#: longest note accepted with a check-in, in characters
MAX_NOTE = 500
#: longest a check-in code stays valid (90 days: a quarter, the contracts' ledger cadence)
MAX_VALID_FOR = 90 * 24 * 3600
#: shortest (a minute: shown on a screen at a meeting)
MIN_VALID_FOR = 60

_PREFIX = "YXC1"
_KEY_LABEL = b"yanxing/checkin-code/v1"


@action("checkin", permission="checkin")
@dataclass(frozen=True, slots=True)
class CheckIn(Payload):
    note: str | None = None

    def validate(self) -> None:
        check_text("note", self.note, max_length=MAX_NOTE)


@action("checkin_code", permission="checkin")
@dataclass(frozen=True, slots=True)
class CheckInCodeIssued(Payload):
    #: seconds the code is valid after it was issued
    valid_for: int

    def validate(self) -> None:
        check_int("validFor", self.valid_for, minimum=MIN_VALID_FOR, maximum=MAX_VALID_FOR,
                  required=True)


class CheckInCodeInvalid(RequestError):
    """The check-in code is malformed, forged or another party's; ask the branch for its
    current code."""

    code = "CHECKIN_CODE_INVALID"


class CheckInCodeExpired(RequestError):
    """The check-in code has expired; the branch issues a new one."""

    code = "CHECKIN_CODE_EXPIRED"


class CheckInCodeWrongOrganization(RequestError):
    """The check-in code is another organisation's than the one named."""

    code = "CHECKIN_CODE_WRONG_ORGANIZATION"


@dataclass(frozen=True, slots=True)
class CodeClaims:
    entry: int
    organization: str
    party: str
    expires_at: datetime


def _key(secret: bytes) -> bytes:
    return hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()


def _mac(secret: bytes, claims: str) -> str:
    return b64url(hmac.new(_key(secret), f"{_PREFIX}.{claims}".encode(), hashlib.sha256)
                  .digest())


def expiry_of(entry: Entry) -> datetime:
    assert isinstance(entry.payload, CheckInCodeIssued)
    return entry.recorded_at + timedelta(seconds=entry.payload.valid_for)


def code_for(secret: bytes, entry: Entry) -> str:
    """The code of a `checkin_code` entry (the same every time: retries show one code)."""
    claims = b64url(canonical({"e": entry.id, "o": entry.organization, "p": entry.party,
                               "x": to_epoch(expiry_of(entry))}))
    return f"{_PREFIX}.{claims}.{_mac(secret, claims)}"


def verify_code(secret: bytes, code: str, now: datetime) -> CodeClaims:
    """The claims of a genuine, unexpired code; CHECKIN_CODE_INVALID / _EXPIRED otherwise."""
    parts = code.split(".")
    if len(code) > 512 or len(parts) != 3 or parts[0] != _PREFIX:
        raise CheckInCodeInvalid("not a check-in code of this hub")
    claims_text, mac = parts[1], parts[2]
    if not hmac.compare_digest(mac, _mac(secret, claims_text)):
        raise CheckInCodeInvalid("the check-in code's signature does not verify")
    try:
        claims = strict_loads(b64url_decode(claims_text))
        found = CodeClaims(int(claims["e"]), str(claims["o"]), str(claims["p"]),
                           from_epoch(int(claims["x"])))
    except (ValueError, KeyError, TypeError):
        raise CheckInCodeInvalid("the check-in code is malformed") from None
    if now >= found.expires_at:
        raise CheckInCodeExpired(f"the check-in code expired at {format_time(found.expires_at)}"
                                 "; ask the branch for a new one")
    return found


async def link_to_branch(conn: AsyncConnection, entry: Entry) -> None:
    """A check-in attaches the member to the branch (就近编入流入地党组织): the index row's
    destination organisation, and its region when the index had none. A later sync that
    recomputes the row from the sources takes the sources' word again: the write-back of the
    check-in (the outbox) is what makes the systems of record agree."""
    if entry.member_key is None:
        return
    region = (await conn.execute(select(OrganizationRow.region_code).where(
        OrganizationRow.org_id == entry.organization))).scalar()
    values: dict[str, object] = {"destination_org_id": entry.organization}
    await conn.execute(update(MemberRow).where(MemberRow.key == entry.member_key)
                       .values(**values))
    if region:
        await conn.execute(update(MemberRow).where(
            MemberRow.key == entry.member_key, MemberRow.destination_region_code.is_(None))
            .values(destination_region_code=region))
