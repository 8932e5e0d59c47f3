"""Keep personal data out of the server's own logs (the audit log has hub.audit.privacy).

Three places would otherwise print what callers sent:

- `strawberry.execution` logs every GraphQL error as the error itself, whose text quotes the
  document around the error (`1 | { members(filter: {name: "张三"}) ...`): the filter keeps the
  message only, without the quoted source;
- graphql-core's messages quote values that failed (`Int cannot represent non-integer value:
  '张三'`, `Variable '$n' has invalid value: ...`), in that logger and in `hub.api`'s
  tracebacks: quoted values that are not GraphQL names, and runs of 7+ digits (phones, ID
  numbers), are replaced by `…`; a traceback of a GraphQL input error (the caller's mistake,
  not the hub's) is dropped, since its text repeats the value;
- `uvicorn.access` logs the request line, and a GET query carries the whole document (and its
  variables) in the query string: the filter logs the path without the query string.

Installed once per process by `create_app` (idempotent); uvicorn's logging configuration
keeps filters already on its loggers.
"""

from __future__ import annotations

import logging
import re

from graphql import GraphQLError

__all__ = ["redact", "ErrorLogRedaction", "AccessLogRedaction", "install_log_redaction"]

#: a quoted GraphQL name ('nosuch', '$n', 'Member.name': kept) or any other quoted value
_QUOTED = re.compile(r"""(['"])(\$?[_A-Za-z][_0-9A-Za-z.]*)\1|(['"])(?:\\.|(?!\3).)*\3""")
_DIGITS = re.compile(r"[0-9]{7,}")


def _quoted(match: re.Match[str]) -> str:
    if match.group(2) is not None:
        return match.group(0)
    return f"{match.group(3)}…{match.group(3)}"


def redact(text: str) -> str:
    """`text` with quoted values and long digit runs replaced by `…`."""
    return _DIGITS.sub("…", _QUOTED.sub(_quoted, text))


class ErrorLogRedaction(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.msg
        if isinstance(error, GraphQLError):
            where = f" at {'.'.join(map(str, error.path))}" if error.path else ""
            record.msg, record.args = "%s%s", (redact(error.message), where)
        elif isinstance(record.msg, str) and record.args:
            record.msg, record.args = "%s", (redact(record.getMessage()),)
        exc = record.exc_info[1] if isinstance(record.exc_info, tuple) else None
        if isinstance(exc, GraphQLError):
            record.exc_info, record.exc_text = None, None
            record.msg, record.args = "%s (%s)", (redact(record.getMessage()),
                                                   redact(exc.message))
        return True


class AccessLogRedaction(logging.Filter):
    """uvicorn's access record: (client, method, path with query, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) \
                and "?" in args[2]:
            path = args[2].split("?", 1)[0]
            record.args = (*args[:2], f"{path}?(query not logged)", *args[3:])
        return True


def install_log_redaction() -> None:
    for name, kind in (("strawberry.execution", ErrorLogRedaction),
                       ("hub.api", ErrorLogRedaction),
                       ("uvicorn.access", AccessLogRedaction)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
