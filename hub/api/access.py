"""`AccessRecorder`: what one request touched and was refused, for its audit entry.

The audit entry of a request (hub.api.extensions.audit.access_record) is built from what
happened while it ran: which members it produced, how many it asked for but may not see, which
fields were denied, whether the whole operation was refused or could not run at all. Many steps
learn one of these facts (the policy extension, the member factory, the record mutation, the
HTTP layer); they tell the request's recorder, the one owner of that state, instead of each
poking sets on the `Context`. It keeps keys and field names only, never values.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["AccessRecorder"]


class AccessRecorder:
    __slots__ = ("members_touched", "members_hidden", "fields_denied", "is_refused",
                 "rejected", "operation", "_written")

    def __init__(self) -> None:
        #: keys of the members whose objects this request produced
        self.members_touched: set[str] = set()
        #: members asked for by key that the caller may not see (answered "not found")
        self.members_hidden = 0
        #: "Type.field" refused before execution, or nulled for some member
        self.fields_denied: set[str] = set()
        #: the whole operation was refused before execution
        self.is_refused = False
        #: the operation could not run at all (parse, validation, variables, limits): the
        #: error code, lower-cased; recorded as a `rejected` entry, never as `allowed`
        self.rejected: str | None = None
        #: the operation's text and name (hashed into audit entries written while it runs,
        #: e.g. an exchange-ledger entry's own decision)
        self.operation: tuple[str | None, str | None] = (None, None)
        self._written = False

    def touched(self, member_keys: Iterable[str]) -> None:
        """The answer shows these members."""
        self.members_touched.update(member_keys)

    def hidden(self) -> None:
        """A member was asked for by key and is out of the caller's scope."""
        self.members_hidden += 1

    def denied(self, *fields: str) -> None:
        """`Type.field`s denied to the caller (before execution, or nulled for a member)."""
        self.fields_denied.update(fields)

    def refused(self, *fields: str) -> None:
        """The whole operation is refused (naming the fields that refused it, if any)."""
        self.is_refused = True
        self.fields_denied.update(fields)

    def reject(self, reason: str | None) -> None:
        """The operation could not run: `reason` is the error code slug (None: it ran)."""
        self.rejected = reason

    def claim(self) -> bool:
        """True once: for the one step that writes this request's audit entry."""
        if self._written:
            return False
        self._written = True
        return True
