"""报到 check-in: a member reports to a destination branch (workflow 1).

The payload of the `checkin` action; the destination party records it with the contract's
`checkin` permission at one of its own branches (or one a contract names).
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.exchange.payloads import Payload, action, check_text

__all__ = ["CheckIn", "MAX_NOTE"]

#: longest note accepted with a check-in, in characters
MAX_NOTE = 500


@action("checkin", permission="checkin")
@dataclass(frozen=True, slots=True)
class CheckIn(Payload):
    note: str | None = None

    def validate(self) -> None:
        check_text("note", self.note, max_length=MAX_NOTE)
