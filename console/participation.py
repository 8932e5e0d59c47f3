"""The participation rate (参与率) as the hub computes it, for the figure shown while typing.

The console may not import the hub's server code (tests/test_layers.py), so the rule is
restated here from hub/exchange/participation.py, and tests/console/test_console_orglife.py
checks the two agree on every mix of modes:

    participation = (present + online + by report) / expected

where `expected` is every member listed for the activity, whatever their mode: online
attendance counts (004), and so does a report to the origin branch (双报, 004); excused and
absent do not. Nobody listed: no rate. After saving, the page shows the hub's own figure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MODES", "ATTENDED", "Tally", "tally", "percent"]

#: the schema's AttendanceMode values, in the order the form offers them, with their names
MODES = {"PRESENT": "现场参加", "ONLINE": "线上参加", "BY_REPORT": "以书面报告代参加",
         "EXCUSED": "请假", "ABSENT": "缺席"}
#: modes that count as taking part
ATTENDED = frozenset({"PRESENT", "ONLINE", "BY_REPORT"})


@dataclass(frozen=True)
class Tally:
    present: int = 0
    online: int = 0
    by_report: int = 0
    excused: int = 0
    absent: int = 0

    @property
    def expected(self) -> int:
        return self.present + self.online + self.by_report + self.excused + self.absent

    @property
    def attended(self) -> int:
        return self.present + self.online + self.by_report

    @property
    def rate(self) -> float | None:
        if self.expected <= 0:
            return None
        return min(1.0, self.attended / self.expected)


def tally(modes: Iterable[str]) -> Tally:
    """Counts per mode; modes outside MODES are not counted (the form sends only those)."""
    counts = Counter(m for m in modes if m in MODES)
    return Tally(present=counts["PRESENT"], online=counts["ONLINE"],
                 by_report=counts["BY_REPORT"], excused=counts["EXCUSED"],
                 absent=counts["ABSENT"])


def percent(rate: float | None) -> str:
    """0.8 -> "80%", 2/3 -> "66.7%"; no rate -> "—"."""
    if rate is None:
        return "—"
    value = round(rate * 100, 1)
    return f"{value:.0f}%" if value == int(value) else f"{value:.1f}%"
