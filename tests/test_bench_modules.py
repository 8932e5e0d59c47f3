"""The benchmarks under bench/ run on today's code: each module imports (a rename elsewhere
in the tree that a benchmark still uses fails here, not on the day someone measures)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("module", sorted(p.stem for p in BENCH.glob("*.py")
                                          if p.stem != "__init__"))
def test_benchmark_module_imports(module: str) -> None:
    importlib.import_module(f"bench.{module}")
