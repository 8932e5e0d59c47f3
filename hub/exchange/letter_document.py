"""The annual evaluation letter (年终发函) as a signed document: what both parties sign.

At each year end the destination (流入地) sends the origin (流出地) a letter per member on their
daily performance, attendance and points, with a reward/punishment recommendation
(发函通报日常表现、奖惩建议, domain README, 000). The hub drafts the letter's text from the
ledger; the destination party signs it and the origin countersigns it (acknowledges), both
as RFC 7515 General JSON JWS over the RFC 8785 canonical form of `LetterDocument.payload()`,
the way contracts are signed (`hub.jws`, `hub.canonical_json`). The hub holds no party key,
so a party signs the payload the hub shows it (offline, with `yanxing letter sign`, or in its
client) and submits the envelope; the demo's key holder signs for the demo parties.

This module is pure: values, validation and the payload. Storing, permission and the
workflow live in `hub.exchange.letters`; the PDF in `hub.exchange.letter_pdf`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.errors import RequestError
from hub.letter_signing import LETTER_JWS_TYPE, LETTER_TYPE

__all__ = [
    "LETTER_TYPE",
    "LETTER_JWS_TYPE",
    "MAX_TEXT",
    "MAX_PERFORMANCE",
    "Recommendation",
    "RECOMMENDATION_LABELS",
    "LetterAttendance",
    "LetterParty",
    "LetterDocument",
    "check_letter_text",
]

#: longest free text (其他说明) and daily-performance text, in characters
MAX_TEXT = 2000
MAX_PERFORMANCE = 2000


class Recommendation(enum.StrEnum):
    """奖惩建议: what the destination recommends the origin do."""

    COMMEND = "commend"                    # 表彰
    NONE = "none"                          # 无
    CRITICISM_EDUCATION = "criticism_education"  # 批评教育
    ORGANISATIONAL_HANDLING = "organisational_handling"  # 组织处理


RECOMMENDATION_LABELS: Mapping[Recommendation, str] = {
    Recommendation.COMMEND: "建议表彰",
    Recommendation.NONE: "无",
    Recommendation.CRITICISM_EDUCATION: "建议批评教育",
    Recommendation.ORGANISATIONAL_HANDLING: "建议组织处理",
}


@dataclass(frozen=True, slots=True)
class LetterAttendance:
    """组织生活参加情况 of the year, counted from the ledger (attendance records)."""

    activities: int = 0
    present: int = 0
    online: int = 0
    excused: int = 0
    absent: int = 0
    by_report: int = 0

    @property
    def participated(self) -> int:
        """Present, online or by report: what the participation rate counts."""
        return self.present + self.online + self.by_report

    def as_json(self) -> dict[str, int]:
        return {"activities": self.activities, "present": self.present,
                "online": self.online, "excused": self.excused, "absent": self.absent,
                "by_report": self.by_report}


@dataclass(frozen=True, slots=True)
class LetterParty:
    """One side of the letter: the party and its organisation (code and name)."""

    party: str
    organization: str | None
    organization_name: str | None

    def as_json(self) -> dict[str, Any]:
        return {"party": self.party, "organization": self.organization,
                "organization_name": self.organization_name}


@dataclass(frozen=True, slots=True)
class LetterDocument:
    """The letter's content. `payload()` is the JSON both parties sign (canonicalised)."""

    letter_id: str
    year: int
    member_key: str
    member_name: str | None
    sender: LetterParty       # the destination (流入地), who signs
    recipient: LetterParty    # the origin (流出地), who acknowledges
    performance: str          # 日常表现
    attendance: LetterAttendance
    points: int | None        # the year's points (None in letters drafted before points)
    recommendation: Recommendation
    text: str                 # 其他说明
    drafted_at: str           # RFC 3339 UTC (hub.clock.format_time)

    def payload(self) -> dict[str, Any]:
        return {
            "type": LETTER_TYPE,
            "id": self.letter_id,
            "year": self.year,
            "member": {"key": self.member_key, "name": self.member_name},
            "from": self.sender.as_json(),
            "to": self.recipient.as_json(),
            "performance": self.performance,
            "attendance": self.attendance.as_json(),
            "points": self.points,
            "recommendation": self.recommendation.value,
            "text": self.text,
            "drafted_at": self.drafted_at,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> LetterDocument:
        """The document back from a stored payload (written by `payload()`)."""
        att = payload["attendance"]
        return cls(
            letter_id=str(payload["id"]), year=int(payload["year"]),
            member_key=str(payload["member"]["key"]), member_name=payload["member"]["name"],
            sender=LetterParty(**payload["from"]), recipient=LetterParty(**payload["to"]),
            performance=str(payload["performance"]),
            attendance=LetterAttendance(**{k: int(v) for k, v in att.items()}),
            points=payload["points"], recommendation=Recommendation(payload["recommendation"]),
            text=str(payload["text"]), drafted_at=str(payload["drafted_at"]),
        )


def check_letter_text(name: str, value: str, limit: int) -> str:
    """Free text of a letter: at most `limit` characters, no control characters besides
    newlines (they would corrupt the PDF and hide text from a reader)."""
    if len(value) > limit:
        raise RequestError(f"{name} is {len(value)} characters; at most {limit} are accepted")
    bad = sorted({f"U+{ord(c):04X}" for c in value
                  if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0})
    if bad:
        raise RequestError(f"{name} contains control characters {', '.join(bad)}; remove them")
    return value
