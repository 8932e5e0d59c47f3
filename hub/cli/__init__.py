"""`yanxing` command line. Each subcommand lives in its own module with a `register(sub)`;
`COMMANDS` lists those modules themselves (not names to import), so every command is visible
here and to the import-layer test.

Errors a user can fix (configuration, contracts, sources) print what was wrong and how to fix
it, and exit 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from sqlalchemy.exc import SQLAlchemyError

from connectors.errors import ConnectorError
from hub.cli import (
    audit,
    connector,
    console,
    contract,
    db,
    demo,
    keys,
    letter,
    obligations,
    outbox,
    reconcile,
    reconcile_sign,
    registry,
    schema,
    serve,
    sync,
    token,
)
from hub.errors import ConfigError, HubError

__all__ = ["main"]

#: modules providing `register(subparsers)`; each adds one command, in this order in `--help`
COMMANDS: tuple[ModuleType, ...] = (
    demo, serve, db, sync, schema, keys, registry, contract, token, audit, connector, outbox,
    reconcile, reconcile_sign, letter, obligations, console,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="yanxing",
        description=(
            "雁行 Yanxing — GraphQL federation hub for jointly managed mobile party members"
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ConfigError as exc:
        print("yanxing: configuration is invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except (HubError, ConnectorError) as exc:
        print(f"yanxing: {exc} [{exc.code}]", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        # the first line names the driver's error; the rest would quote SQL and parameters
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"yanxing: database error: {type(exc).__name__}: {first}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file or socket the command needs: say which, not where in code
        print(f"yanxing: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("yanxing: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
