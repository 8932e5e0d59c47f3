"""Errors raised by connectors, grouped by what the caller should do next.

```
ConnectorError (.code → GraphQL extensions.code)
├── ConnectorConfigError   mapping or connection settings invalid: fix the file, then restart
└── SourceError (.source)
    ├── SourceUnavailable  the system is down or unreachable: retry later
    │   └── SourceTimeout  it did not answer within its timeout: retry later
    ├── SourceRejected     it refused us (auth, permission, 4xx): fix credentials, do not retry
    ├── SourceInvalid      it answered with something we cannot parse: report to its operator
    └── NotSupported       the connector cannot do this (e.g. write on a read-only ledger)
```

A bad *row* is not an exception: it becomes a `DataIssue` value next to the records, so
one bad row never stops a sync (see `connectors.base.DataIssue`).
"""

from __future__ import annotations

import re

__all__ = [
    "ConnectorError",
    "ConnectorConfigError",
    "SourceError",
    "SourceUnavailable",
    "SourceTimeout",
    "SourceRejected",
    "SourceInvalid",
    "NotSupported",
    "scrub",
]

#: runs of digits long enough to be a phone or ID number (or a fragment of one), with an
#: ID number's final X
_DIGITS = re.compile(r"\d{6,}[0-9Xx]?")
_MAX_ERROR_TEXT = 200


def scrub(text: str) -> str:
    """A system's error text, safe to store and show: long digit runs (phones, ID numbers)
    masked, cut to 200 characters. A platform that quotes the row it refused must not turn
    a delivery's `last_error` into a copy of personal data."""
    cleaned = _DIGITS.sub(lambda m: m.group(0)[:2] + "*" * (len(m.group(0)) - 2), text)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= _MAX_ERROR_TEXT else cleaned[: _MAX_ERROR_TEXT - 1] + "…"


class ConnectorError(Exception):
    """Base of every connector error; `code` is what clients see in `extensions.code`."""

    code = "CONNECTOR_ERROR"


class ConnectorConfigError(ConnectorError):
    """A mapping file or connection setting is invalid; lists every problem at once."""

    code = "CONFIG_INVALID"

    def __init__(self, problems: list[str] | str, *, path: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(where + "; ".join(self.problems))


class SourceError(ConnectorError):
    """A source system failed while we talked to it."""

    code = "SOURCE_ERROR"

    def __init__(self, source: str, message: str, *, public_detail: str | None = None) -> None:
        """`message` is for the operator's log and may name records (a batch's ids, a
        page); `public_detail`, when given, is a part a client may see: it names no record
        and no value (the hub's API shows only the source, the code and this)."""
        self.source = source
        self.public_detail = public_detail
        super().__init__(f"{source}: {message}")


class SourceUnavailable(SourceError):
    """The source is down or unreachable; retrying later may work."""

    code = "SOURCE_UNAVAILABLE"


class SourceTimeout(SourceUnavailable):
    """The source did not answer within its configured timeout; retry later."""

    code = "SOURCE_TIMEOUT"


class SourceRejected(SourceError):
    """The source refused the request (credentials, permissions); retrying will not help."""

    code = "SOURCE_REJECTED"


class SourceInvalid(SourceError):
    """The source answered with data we cannot understand; report it to its operator."""

    code = "SOURCE_INVALID"


class NotSupported(SourceError):
    """The connector does not declare the capability the caller asked for."""

    code = "NOT_SUPPORTED"
