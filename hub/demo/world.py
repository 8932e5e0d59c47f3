"""The running demo world: two REST platforms and a study platform (XML, OAuth2) on ephemeral
ports, the village ledger files and the county database, all from one seeded `World`, torn
down together.

    async with DemoWorld.start(tmp_path, members=2000, seed=7) as world:
        for source in world.sources:   # what the hub needs to build its [[sources]] config
            ...

Credentials are fresh random values per start and reach the hub only through `env` (the
mapping files reference them as ${ENV}); non-secret locations come as connection overrides.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.demo.generator import World, generate_world
from hub.demo.systems.chengdu import ChengduPlatform
from hub.demo.systems.county import create_county_db
from hub.demo.systems.ledger import LedgerFiles, write_ledger
from hub.demo.systems.study import TOKEN_PATH, StudyPlatform
from hub.demo.systems.zhejiang import ZhejiangPlatform

__all__ = ["DemoSource", "DemoWorld", "MAPPINGS_DIR", "PARTIES", "HUB_CHECKINS_FILE"]

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
#: the workbook the hub appends the village's check-ins to (write-back), beside its ledger
HUB_CHECKINS_FILE = "yongshui_hub_checkins.xlsx"

#: source name -> (owning party id, its Chinese name)
PARTIES: Mapping[str, tuple[str, str]] = {
    "chengdu": ("chengdu-rcxf-operator", "成都市委组织部（蓉城先锋）"),
    "zhejiang": ("zhejiang-platform-operator", "浙江省委组织部（浙里平台）"),
    "village_ledger": ("luxian-yongshui-village", "泸县云锦镇涌水村党支部"),
    "county": ("xuzhou-county-org", "叙州区委组织部"),
    "study": ("study-platform-operator", "党员教育学习平台运营中心"),
}


@dataclass(frozen=True, slots=True)
class DemoSource:
    """One simulated system as the hub's configuration needs it."""

    name: str
    mapping_path: Path
    owner_party_id: str
    owner_name: str
    side: str  # origin | destination
    #: merged into the mapping's [connection] (no secrets)
    connection_overrides: Mapping[str, Any]
    #: environment variables the mapping's ${ENV} references need (includes secrets)
    env: Mapping[str, str]


@dataclass(slots=True)
class DemoWorld:
    """The five systems, running. Build it with `DemoWorld.start(...)`."""

    world: World
    directory: Path
    chengdu: ChengduPlatform
    zhejiang: ZhejiangPlatform
    ledger: LedgerFiles
    county_db_url: str
    study: StudyPlatform
    sources: list[DemoSource] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        """Every source's environment variables together (for os.environ or a config loader)."""
        out: dict[str, str] = {}
        for source in self.sources:
            out.update(source.env)
        return out

    def source(self, name: str) -> DemoSource:
        return next(s for s in self.sources if s.name == name)

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        directory: Path,
        members: int = 2000,
        seed: int = 7,
        *,
        latency: float = 0.0,
        county_db_url: str | None = None,
    ) -> AsyncIterator[DemoWorld]:
        """Start both platforms on 127.0.0.1 (ephemeral ports), write the ledger and the county
        database into `directory` (or `county_db_url`), and stop everything on exit."""
        directory = Path(directory).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        world = generate_world(members, seed)
        token = secrets.token_urlsafe(24)
        app_key, app_secret = "yanxing-hub", secrets.token_urlsafe(32)
        client_id, client_secret = "yanxing-hub", secrets.token_urlsafe(32)
        ledger = write_ledger(world, directory)
        db_url = county_db_url or f"sqlite+aiosqlite:///{directory / 'xuzhou_county.db'}"
        await create_county_db(db_url, world)
        async with contextlib.AsyncExitStack() as stack:
            chengdu = await stack.enter_async_context(
                ChengduPlatform(world, token=token, latency=latency))
            zhejiang = await stack.enter_async_context(
                ZhejiangPlatform(world, app_key=app_key, secret=app_secret, latency=latency))
            study = await stack.enter_async_context(StudyPlatform(
                world, client_id=client_id, client_secret=client_secret, latency=latency))
            demo = cls(world, directory, chengdu, zhejiang, ledger, db_url, study)
            demo.sources = [
                demo._source("chengdu", {"base_url": chengdu.url},
                             {"CHENGDU_URL": chengdu.url, "CHENGDU_TOKEN": token}),
                demo._source("zhejiang", {"base_url": zhejiang.url},
                             {"ZHEJIANG_URL": zhejiang.url, "ZHEJIANG_APP_KEY": app_key,
                              "ZHEJIANG_APP_SECRET": app_secret}),
                demo._source("village_ledger", {"file": str(ledger.xlsx)},
                             {"YONGSHUI_LEDGER": str(ledger.xlsx),
                              "YONGSHUI_HUB_CHECKINS": str(directory / HUB_CHECKINS_FILE)}),
                demo._source("county", {"url": db_url}, {"XUZHOU_COUNTY_DB_URL": db_url}),
                demo._source("study", {"base_url": study.url},
                             {"STUDY_URL": study.url, "STUDY_TOKEN_URL": study.url + TOKEN_PATH,
                              "STUDY_CLIENT_ID": client_id,
                              "STUDY_CLIENT_SECRET": client_secret}),
            ]
            yield demo

    def _source(self, name: str, overrides: dict[str, Any], env: dict[str, str]) -> DemoSource:
        party, party_name = PARTIES[name]
        side = "destination" if name in ("chengdu", "zhejiang") else "origin"
        return DemoSource(name, MAPPINGS_DIR / f"{name}.toml", party, party_name, side,
                          overrides, env)
