"""The per-request context: who is asking, under which policy, with per-request loaders.

Policy questions go to `decisions` (hub.policy.decisions), audit facts to `access`
(hub.api.access): each has one owner.

Everything request-scoped lives here and nowhere else: DataLoaders (so batches and caches never
leak between callers), the query plan computed before execution, and source failures collected
during execution (reported once per source, however many members they touched).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from connectors.errors import SourceError
from hub.api.access import AccessRecorder
from hub.api.runtime import Runtime
from hub.policy.base import ANONYMOUS, Caller, Policy
from hub.policy.decisions import Decisions
from hub.settings import Mode

if TYPE_CHECKING:
    from hub.api.extensions.analysis import QueryPlan
    from hub.api.loaders import Loaders

__all__ = ["Context"]


@dataclass(eq=False)
class Context:
    runtime: Runtime
    caller: Caller = ANONYMOUS
    policy: Policy | None = None
    request: Any = None
    plan: QueryPlan | None = None
    #: production or development (hub.settings.Mode): what the endpoint reveals of itself
    mode: Mode = field(default_factory=Mode)
    #: source name -> (first error, path of the first field it affected)
    source_errors: dict[str, tuple[SourceError, list[str | int] | None]] = field(
        default_factory=dict
    )
    #: what the audit log records of this request (keys only, never values)
    access: AccessRecorder = field(default_factory=AccessRecorder)
    #: lists cut at their bound: (message, path of the list), reported as LIMIT_EXCEEDED
    truncated: list[tuple[str, list[str | int] | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.policy is None:
            self.policy = self.runtime.policy

    @property
    def active_policy(self) -> Policy:
        assert self.policy is not None
        return self.policy

    @cached_property
    def decisions(self) -> Decisions:
        """The request's policy point: every policy question of this request goes here."""
        from hub.api.extensions.fields import MEMBER_FIELDS  # the package imports Context

        return Decisions(self.active_policy, self.caller, MEMBER_FIELDS)

    @cached_property
    def loaders(self) -> Loaders:
        from hub.api.loaders import Loaders

        return Loaders(self)

    def bounded(self, items: list[Any], bound: int, what: str, path: Any, *,
                keep_last: bool = False) -> list[Any]:
        """`items` cut to `bound` (the first ones, or the last with `keep_last`); a list that
        was longer is reported at its path, so a client knows it is not the whole list."""
        if len(items) <= bound:
            return items
        which = "last" if keep_last else "first"
        self.truncated.append((f"{what} has more than {bound} items; the {which} {bound} are "
                               "shown (limits.max_list_size)", path.as_list()
                               if hasattr(path, "as_list") else None))
        return items[-bound:] if keep_last else items[:bound]

    def report_source_error(self, error: SourceError, path: list[str | int] | None) -> None:
        self.source_errors.setdefault(error.source, (error, path))
