"""GraphQL for workflow 1, 报到 check-in: `recordCheckIn`, a ledger action (hub.exchange).

The guard (`@ledger_action("checkin")`, hub.api.exchange) checks the contract's `checkin`
record permission for the member and the organisation; this module only says what a check-in
records. `CheckInReceipt` keeps the fields the first `recordCheckIn` answered (`id`,
`memberKey`, ...) beside the receipt's `entry` and nodes, so existing clients keep working.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from hub.api.exchange import Intent, ledger_action
from hub.api.types.exchange import ExchangeReceipt
from hub.exchange.checkin import CheckIn

__all__ = ["QUERY_TYPES", "MUTATION_TYPES", "CheckInReceipt", "CheckInMutation"]


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


@strawberry.type
class CheckInMutation:
    @strawberry.mutation(description="记录成员向党组织报到（需协议授予 checkin 记录权限）。 Record "
                         "that a member checked in (报到) with an organisation; needs a "
                         "contract's `checkin` record permission for this member.")
    @ledger_action("checkin", receipt=CheckInReceipt)
    async def record_check_in(
        self, info: Info, member_key: strawberry.ID, organization: strawberry.ID,
        note: str | None = None,
    ) -> Intent:
        return Intent(CheckIn(note=note), organization=str(organization),
                      member_key=str(member_key))


QUERY_TYPES: tuple[type, ...] = ()
MUTATION_TYPES = (CheckInMutation,)
