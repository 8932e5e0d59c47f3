"""`yanxing demo`: the five simulated systems, a hub on SQLite over them, synced and serving.

Everything lives in one directory (default `var/demo/`) that is laid anew on every start: the
ledger files, the county database, the hub's index, the parties' keys, the signed registry and
contracts, and the generated `yanxing.toml` with its `[trust]` table (so a newcomer can read
what a real configuration looks like: `yanxing serve --config var/demo/yanxing.toml`).
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from hub.contracts.demo import DemoTrust, build_demo_trust
from hub.demo.letters_transfers import SeededHistory, seed_letters_and_transfers
from hub.demo.workflows import SeedSummary, seed_workflows
from hub.demo.world import DemoSource, DemoWorld
from hub.federation.sync import SyncSummary, SyncTarget, sync_all
from hub.settings import Settings, load_settings
from hub.store.session import create_engine, create_session_factory, init_db

__all__ = ["DemoHub", "DEMO_ROLES", "DEMO_OBSERVERS", "HISTORY_DAYS", "make_trust", "party_roles",
           "start_demo", "write_config"]


#: source -> (role in the demo contracts, the owning party's region codes); destinations
#: first (hub.contracts.demo.build_demo_trust's convention)
DEMO_ROLES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "chengdu": ("destination", ("510100",)),
    "zhejiang": ("destination", ("330000",)),
    "county": ("origin", ("511502",)),
    "village_ledger": ("origin", ("510521",)),
    # the study platform's operator: an observer sharing study records (no region of its own)
    "study": ("observer", ()),
}

#: observer parties (观察方) of every demo contract: statistics, never persons (workflow 8)
DEMO_OBSERVERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("sichuan-org-dept", "四川省委组织部", ("510000",)),
)
#: the demo contracts are in force from this many days ago: the year of workflow history
#: seeded under them (hub.demo.workflows) and its obligations need it
HISTORY_DAYS = 400


@dataclass(slots=True)
class DemoHub:
    """A running demo: the simulated world, the hub's settings and the first sync's summaries,
    and the trust world (parties' keys, signed registry and contracts) it serves under."""

    world: DemoWorld
    settings: Settings
    config_path: Path
    env: Mapping[str, str]
    summaries: list[SyncSummary]
    trust: DemoTrust | None = None
    #: last year's letters and the transfers seeded (hub.demo.letters_transfers)
    history: SeededHistory | None = None
    #: the year of workflow history seeded into the ledger (hub.demo.workflows)
    workflows: SeedSummary | None = None

    @property
    def parties(self) -> list[tuple[str, str]]:
        """(party id, name) of every party, destinations first, observers last."""
        return [(s.owner_party_id, s.owner_name) for s in _ordered(self.world)] + \
            [(party, name) for party, name, _ in DEMO_OBSERVERS]


def _ordered(world: DemoWorld) -> list[DemoSource]:
    """Destinations first, observers last (build_demo_trust's convention)."""
    order = {"destination": 0, "origin": 1, "observer": 2}
    return sorted(world.sources, key=lambda s: (order[DEMO_ROLES[s.name][0]],
                                                list(DEMO_ROLES).index(s.name)))


def make_trust(world: DemoWorld, directory: Path) -> DemoTrust:
    """Keys for the five systems' owners, the signed registry, a two-party contract
    (成都—叙州, 温江—叙州 style), a four-party one (成都、浙江、叙州、泸县涌水村, 成德眉资
    style) and the study platform's study records contract, under `directory`/trust."""
    parties = [(s.owner_party_id, s.owner_name, list(DEMO_ROLES[s.name][1]))
               for s in _ordered(world)]
    destinations = sum(DEMO_ROLES[s.name][0] == "destination" for s in world.sources)
    study_observers = sum(DEMO_ROLES[s.name][0] == "observer" for s in world.sources)
    return build_demo_trust(directory / "trust", parties, destinations=destinations,
                            study_observers=study_observers,
                            observers=[(p, n, list(r)) for p, n, r in DEMO_OBSERVERS],
                            history_days=HISTORY_DAYS)


def _trust_lines(trust: DemoTrust, directory: Path) -> list[str]:
    """yanxing.toml's [trust] table for `trust`, paths relative to `directory`."""

    def rel(path: Path) -> str:
        return _toml_string(Path(path).resolve().relative_to(directory).as_posix())

    contracts = ", ".join(rel(p) for p in trust.contracts.values())
    return [
        "[trust]                          # serve under signed contracts",
        f"registry = {rel(trust.registry_path)}",
        f"hub_public_key = {rel(trust.hub_public_key_path)}",
        f"hub_private_key = {rel(trust.hub_private_key_path)}",
        f"hub_kid = {_toml_string(trust.hub_kid)}",
        f"audience = {_toml_string(trust.hub_id)}",
        "enforce = true",
        "checkpoint_every = 20",
        'replay_cache = "memory"          # one process; a real hub: "database" or redis://',
        '# append-only copy of every signed audit checkpoint, outside the database',
        'audit_anchor = "audit-anchor.jsonl"',
        f"contracts = [{contracts}]",
        "",
    ]


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(world: DemoWorld, directory: Path, *, port: int,
                 trust: DemoTrust | None = None) -> Path:
    """Write the hub configuration for the demo world (with `trust`: its [trust] table);
    secrets stay ${ENV} references."""
    lines = [
        "# Generated by `yanxing demo`: the hub over the five simulated systems.",
        "# Serve it with: yanxing serve --config yanxing.toml",
        "[hub]",
        'database_url = "sqlite+aiosqlite:///yanxing.db"',
        'secret = "${YANXING_SECRET}"',
        f'public_url = "http://127.0.0.1:{port}"',
        'mode = "development"             '
        "# GraphiQL, introspection; `serve` defaults to production",
    ]
    if trust is not None:
        # development only: GraphiQL's party picker and /dev/token sign with these
        keys = ", ".join(_toml_string(Path(path).resolve().relative_to(directory).as_posix())
                         for _, path in trust.party_keys.values())
        lines.append(f"dev_party_keys = [{keys}]")
    lines.append("")
    for source in world.sources:
        lines += [
            "[[sources]]",
            f"mapping = {_toml_string(str(source.mapping_path))}",
            f"owner = {_toml_string(source.owner_party_id)}",
            "[sources.connection]",
            *(f"{key} = {_toml_string(str(value))}"
              for key, value in source.connection_overrides.items()),
            "",
        ]
    if trust is not None:
        lines += _trust_lines(trust, directory)
    path = directory / "yanxing.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


async def _seed_workflows_b(world: DemoWorld, settings: Settings,
                            trust: DemoTrust) -> SeededHistory:
    """Workflows 5 and 6's year of history (evaluation letters, transfers)."""
    engine = create_engine(settings.hub.database_url)
    try:
        return await seed_letters_and_transfers(
            (engine, create_session_factory(engine)), trust,
            {s.name: s.owner_party_id for s in world.sources})
    finally:
        await engine.dispose()


async def _sync(settings: Settings) -> list[SyncSummary]:
    from connectors.factory import open_connector

    engine = create_engine(settings.hub.database_url)
    connectors = [open_connector(s.mapping) for s in settings.sources]
    try:
        await init_db(engine)
        return await sync_all(
            create_session_factory(engine),
            [SyncTarget(c, s.side) for c, s in zip(connectors, settings.sources)],
            secret=settings.hub.secret_bytes,
            page_size=settings.limits.sync_page_size,
        )
    finally:
        for connector in connectors:
            await connector.aclose()
        await engine.dispose()


async def _seed_workflows(settings: Settings, seed: int) -> SeedSummary:
    """A year of tasks, points and organisation life in the ledger, under the contracts the
    hub will serve (the trust opened once here, as the app will open it)."""
    from hub.app import open_runtime
    from hub.clock import utcnow
    from hub.contracts.trust import Trust

    async with open_runtime(settings, trust=settings.trust) as runtime:
        trust = runtime.enforcement
        assert isinstance(trust, Trust)
        return await seed_workflows(trust, runtime.session_factory, runtime.registry,
                                    seed=seed, now=utcnow())


@contextlib.asynccontextmanager
async def start_demo(
    directory: Path, *, port: int, members: int = 2000, seed: int = 7, latency: float = 0.0
) -> AsyncIterator[DemoHub]:
    """Lay out `directory` anew, start the world, write the config, sync every source."""
    directory = Path(directory).resolve()
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    async with DemoWorld.start(directory, members=members, seed=seed, latency=latency) as world:
        env = {**world.env, "YANXING_SECRET": secrets.token_urlsafe(48)}
        trust = make_trust(world, directory)
        config_path = write_config(world, directory, port=port, trust=trust)
        settings = load_settings(config_path, env=env)
        summaries = await _sync(settings)
        workflows = await _seed_workflows(settings, seed)
        history = await _seed_workflows_b(world, settings, trust)
        yield DemoHub(world, settings, config_path, env, summaries, trust, history, workflows)


def party_roles(hub: DemoHub) -> dict[str, str]:
    """party id -> its role in the demo contracts (destination, origin or observer)."""
    roles = {s.owner_party_id: DEMO_ROLES[s.name][0] for s in hub.world.sources}
    roles.update({party: "observer" for party, _, _ in DEMO_OBSERVERS})
    return roles
