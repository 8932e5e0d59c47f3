"""Refusals of a workflow step (letters, transfers), by the caller's next move.

```
HubError (hub.errors)
├── WrongParty      WRONG_PARTY: the rules give this step to another party of the letter or
│                   transfer (e.g. only the origin approves a transfer); nothing written
└── StateConflict   STATE_CONFLICT: the letter or transfer is not in a state that allows it
                    (a final state, or it moved on: another party or request was first)
```
Both are audited as denied by the API (`ctx.access.refused`).
"""

from __future__ import annotations

from hub.errors import HubError

__all__ = ["WrongParty", "StateConflict"]


class WrongParty(HubError):
    """The rules give this step to another party; ask that party to take it."""

    code = "WRONG_PARTY"


class StateConflict(HubError):
    """Not allowed in the current state (final, or already moved on); read it again."""

    code = "STATE_CONFLICT"
