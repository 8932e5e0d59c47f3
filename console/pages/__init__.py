"""One module per console page. Each defines `PAGE` (console.web.Page: slug, Chinese title,
path, the contract roles that open it) and `ROUTES` (its starlette routes, each handler
guarded by `console.web.require_official(PAGE)`). The navigation follows this order."""

from __future__ import annotations

from types import ModuleType

from console.pages import (
    letters,
    members,
    obligations,  # 履约
    reconcile,  # 双向对账
    stats,
    tasks,
    transfers,  # 组织关系转接
)

__all__ = ["PAGE_MODULES"]

PAGE_MODULES: tuple[ModuleType, ...] = (
    members,
    tasks,
    letters,
    transfers,
    reconcile,
    obligations,
    stats,
)
