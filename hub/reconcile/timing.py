"""Wall and CPU seconds per stage of a reconciliation, for the benchmark and the logs.

On a shared machine the wall time of a stage says more about the neighbours than about the
stage (a process waiting for a core still ages), so each stage records both: the process's
CPU time (all its threads) is the steadier figure, wall time the one a user waits.
"""

from __future__ import annotations

import time

__all__ = ["Stopwatch"]


class Stopwatch:
    """`lap(stage)` records the seconds since the previous lap (or the start)."""

    __slots__ = ("wall", "cpu", "_wall", "_cpu")

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def lap(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.wall[stage] = round(self.wall.get(stage, 0.0) + wall - self._wall, 4)
        self.cpu[stage] = round(self.cpu.get(stage, 0.0) + cpu - self._cpu, 4)
        self._wall, self._cpu = wall, cpu
