"""GraphQL for workflow 1, 报到 check-in: `issueCheckInCode` and `recordCheckIn`, ledger
actions (hub.exchange.checkin).

The guard (`@ledger_action`, hub.api.exchange) checks the contract's `checkin` record
permission and the organisation; this module only says what is recorded. A check-in by code
verifies the code first (CHECKIN_CODE_INVALID / _EXPIRED / _WRONG_ORGANIZATION, audited as a
refusal) and answers the code's entry. `CheckInReceipt` keeps the fields the first
`recordCheckIn` answered (`id`, `memberKey`, ...) beside the receipt's `entry` and nodes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

import strawberry
from strawberry.types import Info

from hub.api.context import Context
from hub.api.exchange import Intent, ledger_action
from hub.api.inputs import BadUserInput, check_org_code
from hub.api.types.exchange import ExchangeReceipt
from hub.clock import utcnow
from hub.errors import HubError
from hub.exchange.checkin import (
    CheckIn,
    CheckInCodeInvalid,
    CheckInCodeIssued,
    CheckInCodeWrongOrganization,
    code_for,
    expiry_of,
    link_to_branch,
    verify_code,
)
from hub.exchange.ledger import entry_by_id

__all__ = ["QUERY_TYPES", "MUTATION_TYPES", "CheckInReceipt", "CheckInCodeReceipt",
           "CheckInMutation"]


@strawberry.type(description="报到记录回执：台账条目及成员、党组织。 Receipt of a recorded "
                 "check-in (报到): the ledger entry, the member and the organisation.")
class CheckInReceipt(ExchangeReceipt):
    @strawberry.field(description="台账编号（同 entry.number）。 Ledger entry number (as "
                      "`entry.number`).")
    def id(self) -> int:
        return self.entry._entry.id

    @strawberry.field(description="成员键。 Member key.")
    def member_key(self) -> strawberry.ID:
        return strawberry.ID(self.entry._entry.member_key or "")

    @strawberry.field(description="报到的党组织代码。 Code of the organisation checked in "
                      "with.")
    def organization_code(self) -> strawberry.ID:
        return strawberry.ID(self.entry._entry.organization)

    @strawberry.field(description="记录方。 Recording party.")
    def party(self) -> str:
        return self.entry._entry.party

    @strawberry.field(description="记录时间。 Recorded at (UTC).")
    def recorded_at(self) -> datetime:
        return self.entry._entry.recorded_at

    @strawberry.field(description="依据的协议。 Contracts relied on.")
    def contract_digests(self) -> list[str]:
        return list(self.entry._entry.contracts)


@strawberry.type(description="报到码回执：报到码及其二维码地址。 Receipt of an issued "
                 "check-in code (报到码): the code, when it expires and where its QR code is.")
class CheckInCodeReceipt(ExchangeReceipt):
    @strawberry.field(description="报到码（签名、限时）。 The check-in code: signed by the hub, "
                      "valid until `expiresAt`; pass it to `recordCheckIn(code:)`.")
    def code(self, info: Info) -> str:
        return code_for(info.context.runtime.hash_key, self.entry._entry)

    @strawberry.field(description="失效时间。 When the code expires (UTC).")
    def expires_at(self) -> datetime:
        return expiry_of(self.entry._entry)

    @strawberry.field(description="二维码地址（SVG；加 &format=png 得 PNG），需签发方令牌。 Path "
                      "of its QR code (SVG; add `&format=png` for PNG), served to the "
                      "issuing party's token.")
    def qr_path(self, info: Info) -> str:
        entry = self.entry._entry
        code = code_for(info.context.runtime.hash_key, entry)
        return f"/checkin-code/{quote(entry.organization)}?code={quote(code)}"


async def _code_intent(info: Info, code: str, organization: str | None) -> tuple[str, int]:
    """The organisation and issuing entry of a genuine code for this party; a bad code is a
    refusal (audited as denied) with its own error code."""
    ctx: Context = info.context
    try:
        claims = verify_code(ctx.runtime.hash_key, code, utcnow())
        if organization is not None and organization != claims.organization:
            raise CheckInCodeWrongOrganization(
                f"the check-in code is for organisation {claims.organization!r}, not "
                f"{organization!r}")
        if claims.party != ctx.caller.party:
            raise CheckInCodeInvalid("the check-in code was issued by another party")
        issued = await entry_by_id(ctx.runtime.session_factory, claims.entry)
        if issued is None or issued.action != "checkin_code" or \
                issued.organization != claims.organization:
            raise CheckInCodeInvalid("the check-in code names no code this hub issued")
    except HubError:
        ctx.access.refused(f"Mutation.{info.field_name}")
        raise
    return claims.organization, claims.entry


@strawberry.type
class CheckInMutation:
    @strawberry.mutation(description="签发本方党组织的报到码（需 checkin 记录权限）。 Issue a "
                         "check-in code (报到码) for one of the calling party's organisations, "
                         "valid for `validFor` seconds (60 s to 90 days); needs a contract's "
                         "`checkin` record permission.")
    @ledger_action("checkin_code", receipt=CheckInCodeReceipt)
    async def issue_check_in_code(
        self, info: Info, organization: strawberry.ID, valid_for: int = 7 * 24 * 3600,
    ) -> Intent:
        return Intent(CheckInCodeIssued(valid_for=valid_for), organization=str(organization))

    @strawberry.mutation(description="记录成员向党组织报到：凭报到码或直接指定党组织（需协议授予 "
                         "checkin 记录权限）。 Record that a member checked in (报到) with an "
                         "organisation, by its check-in code or naming the organisation; "
                         "needs a contract's `checkin` record permission for this member. The "
                         "member is linked to the organisation in the index.")
    @ledger_action("checkin", receipt=CheckInReceipt)
    async def record_check_in(
        self, info: Info, member_key: strawberry.ID, organization: strawberry.ID | None = None,
        note: str | None = None,
        code: Annotated[str | None, strawberry.argument(description=(
            "报到码（来自 issueCheckInCode 或扫描二维码）。 A check-in code (from "
            "`issueCheckInCode` or its scanned QR code); names the organisation."))] = None,
    ) -> Intent:
        org = str(organization) if organization is not None else None
        if org is not None:
            org = check_org_code(org, "organization")
        answers = None
        if code:
            org, answers = await _code_intent(info, code, org)
        if org is None:
            raise BadUserInput("give the organisation's check-in `code` or its `organization`")
        return Intent(CheckIn(note=note), organization=org, member_key=str(member_key),
                      answers=answers, effects=(link_to_branch,))


QUERY_TYPES: tuple[type, ...] = ()
MUTATION_TYPES = (CheckInMutation,)
