"""Rate limit for auditing rejected requests, so a flood of bad tokens cannot fill the disk.

Every request refused before it is authenticated (no token, a bad or replayed one, a malformed
body) is audited, but anyone can send those, as fast as the network allows. So per client
network (hub.audit.privacy.source_network) and minute, the first `per_source` rejections are
logged one by one and the rest only counted; at most `total` are logged per minute over all
networks. When the minute is over, each network whose rejections were counted gets one summary
entry ("k more suppressed"), written with the next rejection or when the hub stops. The
log thus grows by at most `total` + (networks seen) entries a minute, however hard it is hit.
The networks tracked per minute are capped too (`MAX_SOURCES`; the rest share one bucket).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RejectionLimiter", "Admission", "OTHER_SOURCES"]

#: the bucket networks beyond MAX_SOURCES share (in one minute)
OTHER_SOURCES = "other"
WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Admission:
    #: log this rejection as its own entry
    log: bool
    #: (network, count) summaries of the minute that just ended, to log first
    summaries: tuple[tuple[str, int], ...] = ()


@dataclass
class RejectionLimiter:
    per_source: int = 10
    total: int = 300
    #: distinct networks tracked per minute
    MAX_SOURCES: int = 10_000
    _window: int | None = field(default=None, init=False)
    _logged: dict[str, int] = field(default_factory=dict, init=False)
    _logged_total: int = field(default=0, init=False)
    _suppressed: dict[str, int] = field(default_factory=dict, init=False)

    def admit(self, source: str, now_epoch: float) -> Admission:
        """Count one rejection from `source` at `now_epoch` (seconds)."""
        window = int(now_epoch // WINDOW_SECONDS)
        summaries: tuple[tuple[str, int], ...] = ()
        if window != self._window:
            summaries = self.flush()
            self._window = window
        if source not in self._logged and len(self._logged) >= self.MAX_SOURCES:
            source = OTHER_SOURCES
        logged = self._logged.get(source, 0)
        if logged < self.per_source and self._logged_total < self.total:
            self._logged[source] = logged + 1
            self._logged_total += 1
            return Admission(True, summaries)
        if source not in self._suppressed and len(self._suppressed) >= self.MAX_SOURCES:
            source = OTHER_SOURCES
        self._suppressed[source] = self._suppressed.get(source, 0) + 1
        return Admission(False, summaries)

    def flush(self) -> tuple[tuple[str, int], ...]:
        """End the current minute: the summaries due, sorted by network."""
        due = tuple(sorted(self._suppressed.items()))
        self._logged, self._logged_total, self._suppressed = {}, 0, {}
        return due
