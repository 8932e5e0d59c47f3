"""One module per console page. Each defines `PAGE` (console.web.Page: slug, Chinese title,
path, the contract roles that open it) and `ROUTES` (its starlette routes, each handler
guarded by `console.web.require_official(PAGE)`). The navigation follows this order."""

from __future__ import annotations

from types import ModuleType

from console.pages import (
    checkin,  # 报到
    letters,  # 年终发函
    members,  # 党员台账, 党员详情
    obligations,  # 履约
    orglife,  # 组织生活
    reconcile,  # 双向对账
    stats,  # 统计
    tasks,  # 任务与积分
    transfers,  # 组织关系转接
)

__all__ = ["PAGE_MODULES"]

PAGE_MODULES: tuple[ModuleType, ...] = (
    members,
    checkin,
    orglife,
    tasks,
    letters,
    transfers,
    reconcile,
    obligations,
    stats,
)
