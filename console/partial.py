"""Partial answers read on the 报到 and 组织生活 pages: a field a contract does not grant (a
member's name, say) comes back as null with a CONTRACT_DENIED error at its path. The row
already says "（未授权查看姓名）", so the general refusal sentence ("双向共管协议未授权此项操作")
would only alarm; it is said as what it is instead."""

from __future__ import annotations

from collections.abc import Iterable

from console.messages import MESSAGES

__all__ = ["PARTIAL_DENIAL", "readable_warnings"]

PARTIAL_DENIAL = "部分党员的个别信息（如姓名）按双向共管协议不向本方提供，已标注为“未授权查看”。"


def readable_warnings(warnings: Iterable[str]) -> tuple[str, ...]:
    """The warnings of a partial answer, a withheld field said as such, each sentence once."""
    denied = MESSAGES["CONTRACT_DENIED"]
    return tuple(dict.fromkeys(PARTIAL_DENIAL if w.startswith(denied) else w
                               for w in warnings))
