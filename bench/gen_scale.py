"""How fast the demo generator streams members, and that memory stays flat.

    .venv/bin/python bench/gen_scale.py [members] [seed]
"""

from __future__ import annotations

import resource
import sys
import time

from hub.demo import generate_world


def main(members: int = 1_000_000, seed: int = 7) -> None:
    world = generate_world(members, seed)
    started = time.perf_counter()
    count = 0
    for _ in world.members():
        count += 1
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{count} members in {elapsed:.1f} s: {count / elapsed:,.0f} rows/s, "
          f"peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
