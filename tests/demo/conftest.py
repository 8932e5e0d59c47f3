"""Fixtures of the demo tests: one small world per module (generation is deterministic)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from hub.demo import World, generate_world

#: big enough that every system has more rows than the last planted defect (ordinal 21)
SMALL = 600


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(SMALL, seed=11)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
