"""A plain text table: columns padded to their widest cell, a dashed rule under the header.

Hand-drawn rather than `rich` (see hub/cli/sync.py): every value stays whole and one row is
one line, in a terminal, a pipe or a log alike.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["format_table"]


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
