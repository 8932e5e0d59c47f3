"""The membership transfer (组织关系转接) as a state machine: who may take which step when.

    requested ─approve (origin)─▶ approved ─accept (receiving)─▶ accepted ─complete (origin)─▶
        │ reject (origin)            │ reject (origin or receiving)                     completed
        │ withdraw (requester)       │ withdraw (requester)
        ▼                            ▼
    rejected / withdrawn  (terminal, as is completed: a final state never changes)

Roles, from the split of duties (domain README, 002): the **origin** (流出地, the party holding
the member's membership organisation) keeps 党籍管理, so it approves and, once the receiving
side accepted, completes (closes its records: the index moves the member then). The
**receiving** party (the party holding the organisation the membership moves to, usually the
destination 流入地) accepts or refuses. A request comes from the origin, the receiving party or
the member's **branch** (the party holding the branch where the member takes part today);
only the requester withdraws, and only before acceptance. A party may hold several roles
(an origin moving a member between two of its own branches).

Pure: `step(state, action, roles)` answers or raises; `hub.exchange.transfers` stores.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Set
from dataclasses import dataclass

from hub.exchange.workflow_errors import StateConflict, WrongParty

__all__ = [
    "TransferState",
    "TransferAction",
    "TransferRole",
    "TERMINAL",
    "TRANSITIONS",
    "Transition",
    "step",
    "REQUESTER_ROLES",
]


class TransferState(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class TransferAction(enum.StrEnum):
    APPROVE = "approve"
    ACCEPT = "accept"
    COMPLETE = "complete"
    REJECT = "reject"
    WITHDRAW = "withdraw"


class TransferRole(enum.StrEnum):
    ORIGIN = "origin"          # holds the membership organisation today (党籍管理)
    RECEIVING = "receiving"    # holds the organisation the membership moves to
    BRANCH = "branch"          # holds the branch the member takes part in today
    REQUESTER = "requester"    # the party that filed this request


#: roles that may file a request
REQUESTER_ROLES: frozenset[TransferRole] = frozenset(
    {TransferRole.ORIGIN, TransferRole.RECEIVING, TransferRole.BRANCH})

TERMINAL: frozenset[TransferState] = frozenset(
    {TransferState.COMPLETED, TransferState.REJECTED, TransferState.WITHDRAWN})


@dataclass(frozen=True, slots=True)
class Transition:
    target: TransferState
    roles: frozenset[TransferRole]


_S, _A, _R = TransferState, TransferAction, TransferRole
TRANSITIONS: Mapping[tuple[TransferState, TransferAction], Transition] = {
    (_S.REQUESTED, _A.APPROVE): Transition(_S.APPROVED, frozenset({_R.ORIGIN})),
    (_S.REQUESTED, _A.REJECT): Transition(_S.REJECTED, frozenset({_R.ORIGIN})),
    (_S.REQUESTED, _A.WITHDRAW): Transition(_S.WITHDRAWN, frozenset({_R.REQUESTER})),
    (_S.APPROVED, _A.ACCEPT): Transition(_S.ACCEPTED, frozenset({_R.RECEIVING})),
    (_S.APPROVED, _A.REJECT): Transition(_S.REJECTED,
                                         frozenset({_R.ORIGIN, _R.RECEIVING})),
    (_S.APPROVED, _A.WITHDRAW): Transition(_S.WITHDRAWN, frozenset({_R.REQUESTER})),
    (_S.ACCEPTED, _A.COMPLETE): Transition(_S.COMPLETED, frozenset({_R.ORIGIN})),
}


def step(state: TransferState, action: TransferAction,
         roles: Set[TransferRole]) -> TransferState:
    """The state after `action` by a party holding `roles`, or an error saying why not.
    The state is checked first: a terminal transfer answers "final" to everyone."""
    if state in TERMINAL:
        raise StateConflict(
            f"the transfer is {state.value}, a final state: file a new request instead")
    transition = TRANSITIONS.get((state, action))
    if transition is None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s is state)
        raise StateConflict(
            f"a transfer that is {state.value} cannot be {action.value}d; possible steps: "
            f"{', '.join(allowed)}")
    if not transition.roles & roles:
        need = " or ".join(sorted(r.value for r in transition.roles))
        raise WrongParty(
            f"only the {need} party may {action.value} a transfer that is {state.value}")
    return transition.target
