"""Child process of bench/overload.py: the Chengdu-style upstream and a hub over it, on 127.0.0.1.

Runs in its own process so the servers do not share an event loop (or the GIL) with the load
generator. Prints one JSON line with the URLs, the upstream's token and (local id, member key)
pairs, then serves until stdin closes. A second argument is appended to the hub's
yanxing.toml (bench/overload.py sets its [limits] there).
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import tempfile
from pathlib import Path

import uvicorn
from sqlalchemy import select

from hub.app import create_app
from hub.demo.launch import _sync
from hub.demo.world import DemoWorld
from hub.settings import load_settings
from hub.store.models import SourceLinkRow
from hub.store.session import create_engine, create_session_factory


async def chengdu_pairs(database_url: str) -> list[tuple[str, str]]:
    """(Chengdu local id, member key) of every member the index linked to the platform."""
    engine = create_engine(database_url)
    async with create_session_factory(engine)() as session:
        pairs = (await session.execute(
            select(SourceLinkRow.local_id, SourceLinkRow.member_key)
            .where(SourceLinkRow.source == "chengdu", SourceLinkRow.entity == "member",
                   SourceLinkRow.member_key.is_not(None))
            .order_by(SourceLinkRow.local_id)
        )).all()
    await engine.dispose()
    return [(str(p[0]), str(p[1])) for p in pairs]


async def main(members: int, extra_config: str = "") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        async with DemoWorld.start(directory, members=members) as world:
            chengdu = world.source("chengdu")
            config = directory / "yanxing.toml"
            config.write_text(
                '[hub]\ndatabase_url = "sqlite+aiosqlite:///hub.db"\nsecret = "${YANXING_SECRET}"\n'
                # production mode without [trust]: the hub's own cost over its upstream
                'open_access = true\n'
                f'[[sources]]\nmapping = "{chengdu.mapping_path}"\n'
                f'owner = "{chengdu.owner_party_id}"\n' + extra_config,
                encoding="utf-8",
            )
            env = {**world.env, "YANXING_SECRET": "bench-secret-" + "x" * 40}
            settings = load_settings(config, env=env)
            await _sync(settings)
            pairs = await chengdu_pairs(settings.hub.database_url)
            # uvicorn binds the port itself: sockets handed to it in serve(sockets=...) lose
            # TCP_NODELAY, which adds ~40 ms of delayed-ACK stall to every keep-alive request.
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1",
                                                   port=port, log_level="warning"))
            serving = asyncio.create_task(server.serve())
            while not server.started:
                await asyncio.sleep(0.05)
            print(json.dumps({
                "hub": f"http://127.0.0.1:{port}/graphql",
                "upstream": world.chengdu.url,
                "token": env["CHENGDU_TOKEN"],
                "pairs": [list(p) for p in pairs],
            }), flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
            server.should_exit = True
            await serving


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000,
                     sys.argv[2] if len(sys.argv) > 2 else ""))
