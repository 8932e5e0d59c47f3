"""Argument types with ranges: argparse reports a value outside them as a usage error (exit 2)
instead of the command overflowing later (`--days 99999999999` was an OverflowError
traceback from timedelta, `--port 99999999` one from the socket's bind)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["bounded_int", "DAYS", "PORT", "WORKERS"]


def bounded_int(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be {low}..{high}, not {value}")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


#: validity periods: a day to a century
DAYS = bounded_int(1, 36_500, "days")
#: TCP ports (0: any free port)
PORT = bounded_int(0, 65_535, "port")
#: server worker processes
WORKERS = bounded_int(1, 64, "workers")
