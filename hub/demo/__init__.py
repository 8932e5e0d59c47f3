"""The demo world: a synthetic, seeded population of floating party members and the five
systems that hold it (a Chengdu destination platform, a Zhejiang provincial platform, a
village Excel/CSV ledger, a county database, a 学习强国-like study platform answering XML),
with mapping files for the hub.

Start it with `DemoWorld.start(directory)` (hub.demo.world); generate data alone with
`generate_world()`.
"""

from hub.demo.generator import World, generate_world
from hub.demo.model import (
    SYSTEMS,
    Activity,
    Attendance,
    BadRow,
    Defect,
    Organization,
    Person,
    SystemMember,
)
from hub.demo.world import DemoSource, DemoWorld

__all__ = [
    "SYSTEMS",
    "Activity",
    "Attendance",
    "BadRow",
    "Defect",
    "DemoSource",
    "DemoWorld",
    "Organization",
    "Person",
    "SystemMember",
    "World",
    "generate_world",
]
