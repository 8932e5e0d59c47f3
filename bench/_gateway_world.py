"""Child process of bench/gateway.py: the demo world, a hub configuration over its Chengdu-style
platform alone (under the demo's signed contracts, audit on) and the key the bench party signs
its tokens with.

Runs in its own process so the simulated platforms share neither an event loop nor the GIL
with the hub or the load generator. Prints one JSON line (upstream URL and token, the hub's
configuration and environment, (local id, member key) pairs, what minting a party token takes:
the parent mints them just before each run, so none expires on a long run), then serves until
stdin closes. The hub itself is started by the parent with `yanxing serve`, as a user
runs it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._servers import chengdu_pairs  # noqa: E402
from hub.contracts.demo import DEMO_PURPOSE  # noqa: E402
from hub.demo.launch import _sync, _trust_lines, make_trust  # noqa: E402
from hub.demo.world import DemoWorld  # noqa: E402
from hub.settings import load_settings  # noqa: E402

#: the origin county reading its members' destination records under the 成都—叙州 contract
PARTY = "xuzhou-county-org"


async def main(directory: Path, members: int, database_url: str, replay_cache: str) -> None:
    async with DemoWorld.start(directory, members=members) as world:
        chengdu = world.source("chengdu")
        trust = make_trust(world, directory)
        lines = [
            "[hub]",
            f'database_url = "{database_url}"',
            'secret = "${YANXING_SECRET}"',
            'log_format = "text"',
            "",
            "[limits.rate]  # the bench measures throughput, not the rate limits: buckets off",
            "party_per_second = 0",
            "address_per_second = 0",
            "",
            "[[sources]]",
            f'mapping = "{chengdu.mapping_path}"',
            f'owner = "{chengdu.owner_party_id}"',
            "",
            # "database" for `serve --workers N`: shared by every worker process
            *(line.replace('replay_cache = "memory"', f'replay_cache = "{replay_cache}"')
              for line in _trust_lines(trust, directory)),
        ]
        config = directory / "yanxing.toml"
        config.write_text("\n".join(lines), encoding="utf-8")
        env = {**world.env, "YANXING_SECRET": secrets.token_urlsafe(48)}
        settings = load_settings(config, env=env)
        await _sync(settings)
        pairs = await chengdu_pairs(settings.hub.database_url)
        kid, key_path = trust.party_keys[PARTY]
        print(json.dumps({
            "upstream": world.chengdu.url,
            "upstream_token": env["CHENGDU_TOKEN"],
            "config": str(config),
            "env": {k: v for k, v in env.items() if isinstance(v, str)},
            "pairs": [list(p) for p in pairs],
            "mint": {"party": PARTY, "purpose": DEMO_PURPOSE, "key": str(key_path), "kid": kid,
                     "audience": trust.hub_id},
        }), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]))
