"""Running the hub under signed contracts: trust configuration and the API's `Enforcement`.

`TrustConfig` says where the trust material is; `Trust.open` loads and checks it at startup
(a bad registry or key fails before serving) and is what `Runtime.enforcement` holds:

- `authenticate`: `Authorization: Bearer <party token>`, verified against the registry
  (audience = this hub) and the shared replay cache (`[trust] replay_cache`: the database by
  default, Redis, or memory for tests and the demo: hub.contracts.replay); anything else is
  `TokenRejected` (401). Before that, the registry is brought up to date: a newer one published
  to the hub's database (`yanxing registry publish`, hub.contracts.registry_state) is
  verified and used from that request on, by every process on the database. The token's
  `purpose` must be declared by an active contract the caller is party to (in force or not:
  the validity decides what flows, not whether the purpose is real), or be one of
  `[trust] own_data_purposes` (default "own-records"), which reach only the caller's own
  sources (a contract applies only under the purposes it declares itself); any other purpose
  is refused (`purpose_not_allowed`), never silently narrowed. Why "active" and not "in
  force": a contract about to start or just expired still names the purpose the party works
  under; its validity window decides what data flows, and a revoked or superseded contract
  no longer vouches for anything.
- `policy_for`: a `ContractPolicy` over the contracts in force now, knowing which sources each
  party owns (it always sees their data) and each party's regions (from the registry). It is
  cached per app and revalidated exactly on every request: the store's contract-state
  version (one primary-key read; bumped in the same transaction as every submit, activation,
  supersession and revocation, by any process on the database) must be unchanged, `now` must
  be before the earliest time a stored active contract comes into force or expires
  (`next_transition`), and the sources' owners must be the same. So a revocation is still
  honoured by the very next request, and an expiry by the first request at or after it.
- `record`: one audit entry per operation (hub.audit), from the `AccessRecord` the API built;
  `record_rejection`: one per request refused before it ran (rate-limited per network).

The `[trust]` table of yanxing.toml (validated by hub.settings with the rest of the file, into
`Settings.trust`); `yanxing serve --trust FILE` still reads one from a file of its own
(`load_trust_config`), deprecated, for one release::

    [trust]
    registry = "trust/registry.json"          # signed by the hub key; relative to this file
    hub_public_key = "trust/keys/hub-1.pub.jwk"
    hub_private_key = "trust/keys/hub-1.key.pem"   # optional: signs audit checkpoints
    hub_kid = "hub-1"                          # the registry's hub key id by default
    audience = "yanxing-hub"                   # the registry's hub id by default
    enforce = true                             # false: verify and audit, but masking policy
    checkpoint_every = 100
    contracts = ["trust/contracts/a.jws.json"] # optional: submitted at startup
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request

from hub.audit.access import AccessRecord, access_event
from hub.audit.anchor import open_anchor
from hub.audit.log import AuditEvent, AuditLog, Decision
from hub.audit.privacy import (
    SAFE_PURPOSE,
    SAFE_USER,
    operation_hash,
    source_network,
    unsafe_id_reason,
)
from hub.audit.rejections import RejectionLimiter
from hub.canonical_json import strict_loads
from hub.clock import utcnow
from hub.contracts.keys import load_private_key, load_public_key
from hub.contracts.lifecycle import TERMINAL_STATES, ContractState
from hub.contracts.model import Contract, parse_contract
from hub.contracts.policy import ContractPolicy
from hub.contracts.registry_state import accept_registry, newest_registry
from hub.contracts.replay import open_replay_cache
from hub.contracts.store import (
    ContractStore,
    StateWatch,
    next_transition,
)
from hub.contracts.tokens import (
    MemoryReplayCache,
    ReplayCache,
    TokenRejected,
    verify_token,
)
from hub.contracts.trust_registry import Registry, RegistryError, verify_registry
from hub.errors import ConfigError, ContractError, NotFound
from hub.federation.sources import SourceRegistry
from hub.jws import parse_general
from hub.model import MEMBER_GRAPHQL_FIELDS
from hub.policy.base import ANONYMOUS, Caller, Policy
from hub.policy.masking import MaskingPolicy
from hub.settings import TrustConfig, read_trust_table

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = ["TrustConfig", "Trust", "load_trust_config", "supplied_fields"]

log = logging.getLogger("hub.contracts")

#: (type, field) a party's own sources supply beyond the live member fields
OWN_SOURCE_FIELDS: tuple[tuple[str, str], ...] = (("SourceRecord", "localId"),
                                                  ("Member", "activities"),
                                                  ("Member", "studyRecords"),
                                                  ("Member", "studyHours"))


def load_trust_config(path: Path | str) -> TrustConfig:
    """Read the `[trust]` table of a file of its own (the deprecated `yanxing serve --trust
    FILE`), validated like yanxing.toml's; every problem reported at once (ConfigError)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read trust configuration: {exc}") from exc
    if "trust" not in raw:
        raise ConfigError(f"{path}: needs a [trust] table")
    problems: list[str] = [f"top level: unknown key {k!r} (known: trust)"
                           for k in raw if k != "trust"]
    config = read_trust_table(raw["trust"], path.resolve().parent, problems)
    if problems or config is None:
        raise ConfigError([f"{path}: {p}" for p in problems])
    return config


def supplied_fields(sources: SourceRegistry) -> dict[str, dict[str, set[str]]]:
    """party -> GraphQL type -> fields its own sources can supply (a party may always ask
    for those: for its own members it sees them). A source with a mapping supplies the
    member fields made of what it maps (a study platform mapping names and phones supplies no
    organisation), plus its own records (OWN_SOURCE_FIELDS) and its extension fields; one
    without (a test double) every member field."""
    out: dict[str, dict[str, set[str]]] = {}
    for entry in sources:
        if not entry.owner:
            continue
        supplied = out.setdefault(entry.owner, {})
        mapped = _mapped_member_fields(entry.connector)
        for (type_name, name), canonical in MEMBER_GRAPHQL_FIELDS.items():
            if mapped is None or set(canonical) & mapped:
                supplied.setdefault(type_name, set()).add(name)
        for type_name, name in OWN_SOURCE_FIELDS:
            supplied.setdefault(type_name, set()).add(name)
        extensions = _extension_names(entry.connector)
        if extensions:
            supplied.setdefault("MemberExtensions", set()).update(extensions)
    return out


def _mapped_member_fields(connector: object) -> set[str] | None:
    """The canonical member fields a source's mapping maps; None without a mapping."""
    entities = getattr(getattr(connector, "mapping", None), "entities", None)
    if not isinstance(entities, Mapping):
        return None
    member = entities.get("member")
    fields = getattr(member, "fields", None)
    return set(fields) if isinstance(fields, Mapping) else set()


def _extension_names(connector: object) -> set[str]:
    """The GraphQL names of the extension fields a source's mapping maps (a deployment's
    `MemberExtensions` fields its owner supplies)."""
    entities = getattr(getattr(connector, "mapping", None), "entities", None)
    member = entities.get("member") if isinstance(entities, Mapping) else None
    names = getattr(member, "extensions", None) or {}
    out = set()
    for name in names:
        head, *rest = str(name).split("_")
        out.add(head + "".join(p.title() for p in rest))
    return out


class _Unread:
    """Marks a version argument the caller did not read (None is a valid version: no row)."""


_UNREAD = _Unread()


@dataclass(frozen=True, slots=True)
class _CachedPolicy:
    version: int
    sources: tuple[tuple[str, str | None], ...]
    registry: Registry  # party regions come from it: a replaced registry rebuilds
    built_at: datetime
    #: the policy answers as built until this time (None: no scheduled transition)
    valid_until: datetime | None
    policy: ContractPolicy
    #: party -> purposes declared by the stored-active contracts it is party to
    purposes: dict[str, frozenset[str]]

    def valid(self, version: int | None, sources: tuple[tuple[str, str | None], ...],
              registry: Registry, now: datetime) -> bool:
        return (version is not None and version == self.version and sources == self.sources
                and registry is self.registry and self.built_at <= now
                and (self.valid_until is None or now < self.valid_until))


@dataclass(eq=False)
class Trust:
    """The hub's trust state for the life of the app; implements `hub.api.Enforcement`."""

    config: TrustConfig
    registry: Registry
    store: ContractStore
    audit_log: AuditLog
    sources: SourceRegistry
    audience: str
    replay_cache: ReplayCache = field(default_factory=MemoryReplayCache)
    fallback: Policy = field(default_factory=MaskingPolicy)
    #: the hub's clock (tests move it)
    clock: Callable[[], datetime] = utcnow
    #: reads the contract-state version cheaply (None: through the store's sessions)
    watch: StateWatch | None = None
    #: verifies registries published to the database (None: no hot reload)
    hub_public_key: Ed25519PublicKey | None = field(default=None, repr=False)
    #: how many rejected requests are audited one by one (per network and minute)
    rejections: RejectionLimiter = field(default_factory=RejectionLimiter)
    _policy: _CachedPolicy | None = field(default=None, init=False, repr=False)
    #: a stored registry version that failed verification (logged once, not retried)
    _refused_registry: int | None = field(default=None, init=False, repr=False)

    @classmethod
    async def open(
        cls,
        config: TrustConfig,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        sources: SourceRegistry,
        *,
        now: datetime | None = None,
    ) -> Trust:
        """Load and check the registry and keys, submit `config.contracts`. Fails
        (ContractError) before anything serves. The contract, audit and exchange tables come
        with the database's schema (hub.store.migrate: the caller has upgraded or checked it)."""
        hub_public = load_public_key(config.hub_public_key_path)
        envelope = _read_registry(config.registry_path)
        registry = verify_registry(envelope, hub_public, now=now)
        private = (load_private_key(config.hub_private_key_path)
                   if config.hub_private_key_path is not None else None)
        if private is not None and private.public_key().public_bytes_raw() != \
                hub_public.public_bytes_raw():
            raise ContractError("hub_private_key does not match hub_public_key")
        missing = sorted(e.name for e in sources if e.owner and e.owner not in registry.parties)
        if missing:
            raise ContractError(
                f"sources {', '.join(missing)} are owned by parties missing from the trust "
                "registry: add them with `yanxing registry add-party`")
        if config.audit_anchor is not None:
            open_anchor(config.audit_anchor)
        # refuses an older registry than the newest this hub accepted (a downgrade)
        await accept_registry(sessions, envelope, registry, now=now)
        store = ContractStore(sessions)
        for path in config.contracts:
            await _submit_configured(store, Path(path), registry, now or utcnow())
        audit_log = AuditLog(sessions, signing_key=private,
                             kid=config.hub_kid or registry.hub_kid,
                             checkpoint_every=config.checkpoint_every, engine=engine,
                             anchor=config.audit_anchor)
        replay_cache = open_replay_cache(config.replay_cache, sessions,
                                         prefix=config.replay_cache_prefix)
        limiter = RejectionLimiter(config.audit_rejections_per_minute,
                                   config.audit_rejections_total_per_minute)
        return cls(config, registry, store, audit_log, sources,
                   config.audience or registry.hub_id, replay_cache=replay_cache,
                   watch=StateWatch(engine), hub_public_key=hub_public, rejections=limiter)

    # ------------------------------------------------------------ Enforcement

    async def authenticate(self, request: Request) -> Caller:
        return await self._verified(request, self.replay_cache)

    async def revalidate(self, request: Request) -> Caller:
        """The caller of a long-lived connection (a subscription), checked again before it
        is sent more: every check `authenticate` makes — the newest registry (a key revoked
        since), the token's expiry, a purpose still declared — but the replay cache, which
        spent the token when the connection opened. So a revoked key or an expired token
        stops a running subscription at its next batch of events."""
        return await self._verified(request, None)

    async def _verified(self, request: Request, replay_cache: ReplayCache | None) -> Caller:
        header = request.headers.get("authorization")
        if header is None:
            if not self.config.enforce:
                return ANONYMOUS
            raise TokenRejected(
                "missing", "send 'Authorization: Bearer <token>' with a token signed by your "
                "party (yanxing token --party ... --user ... --purpose ...)")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenRejected("malformed", "the Authorization header must be 'Bearer <JWS>'")
        state_version, registry_version = await self._versions()  # one round trip
        await self.refresh_registry(registry_version)
        caller = await verify_token(token.strip(), self.registry, self.audience, replay_cache)
        # the audit log keeps user and purpose for years: ids only, never personal data
        for what, value, pattern in (("sub (the user id)", caller.user, SAFE_USER),
                                     ("purpose", caller.purpose, SAFE_PURPOSE)):
            problem = unsafe_id_reason(what, value, pattern)
            if problem is not None:
                raise TokenRejected("personal_data", problem)
        if self.config.enforce:
            await self._check_purpose(caller, state_version)
        return caller

    async def refresh_registry(self, version: int | _Unread | None = _UNREAD) -> None:
        """Switch to a newer registry published to the database, verified with the hub key
        (`version`: the stored version if the caller just read it; else one primary-key
        read). A stored registry that does not verify is logged and ignored: the hub keeps
        deciding with the last good one."""
        if self.hub_public_key is None:
            return
        if isinstance(version, _Unread):
            version = (await self._versions())[1]
        if version is None or version <= self.registry.version or \
                version == self._refused_registry:
            return
        stored = await newest_registry(self.store.sessions)
        if stored is None:
            return
        try:
            registry = verify_registry(stored[1], self.hub_public_key,
                                       current_version=self.registry.version, now=self.clock())
        except ContractError as exc:
            self._refused_registry = version
            log.error("trust registry version %s in the database is not used: %s",
                      version, exc)
            return
        if registry.version > self.registry.version:
            log.info("trust registry version %s loaded (was %s)", registry.version,
                     self.registry.version)
            self.registry = registry

    async def _check_purpose(self, caller: Caller, state_version: int | None) -> None:
        purpose = caller.purpose
        if purpose in self.config.own_data_purposes:
            return
        current = await self._current(self.clock(), state_version)
        declared = current.purposes.get(caller.party or "", frozenset())
        if purpose not in declared:
            allowed = sorted(declared | set(self.config.own_data_purposes))
            raise TokenRejected(
                "purpose_not_allowed",
                f"purpose {purpose!r} is declared by no active contract of party "
                f"{caller.party!r}; use one of {', '.join(map(repr, allowed))} (contract "
                "purposes, or own-data purposes that reach only your own sources)")

    async def purposes_for(self, party: str) -> tuple[str, ...]:
        """The purposes a token of `party` may carry now: those its active contracts declare
        (sorted), then the own-data purposes (development token route, hub.api.devtokens)."""
        current = await self._current(self.clock())
        declared = sorted(current.purposes.get(party, frozenset()))
        return (*declared, *(p for p in self.config.own_data_purposes if p not in declared))

    async def policy_for(self, caller: Caller) -> Policy:
        if not self.config.enforce:
            return self.fallback
        return (await self._current(self.clock())).policy

    async def _current(self, now: datetime,
                       state_version: int | _Unread | None = _UNREAD) -> _CachedPolicy:
        """The policy (and declared purposes) for the contracts at `now`: the cached build
        while it is still exact (`state_version`: the contract-state counter if the caller
        just read it), else a new one."""
        sources = tuple((e.name, e.owner) for e in self.sources)
        cached = self._policy
        if cached is not None:
            if isinstance(state_version, _Unread):
                state_version = await self._state_version()
            if cached.valid(state_version, sources, self.registry, now):
                return cached
        version, contracts = await self.store.active_state()
        policy = ContractPolicy(
            contracts, now=now,
            supplied_fields=supplied_fields(self.sources),
            sources_of=self.sources_of(),
            party_regions={p.id: p.region_codes for p in self.registry.parties.values()},
        )
        built = _CachedPolicy(version or 0, sources, self.registry, now,
                              next_transition(contracts, now), policy,
                              _declared_purposes(contracts))
        if version is not None:
            # a concurrent request may store an older build: the next one just rebuilds
            self._policy = built
        return built

    async def _versions(self) -> tuple[int | None, int | None]:
        """(contract-state counter, newest stored registry version)."""
        if self.watch is not None:
            return await self.watch.versions()
        return await self.store.versions()

    async def _state_version(self) -> int | None:
        if self.watch is not None:
            return await self.watch.version()
        return await self.store.state_version()

    def sources_of(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for entry in self.sources:
            if entry.owner:
                out.setdefault(entry.owner, set()).add(entry.name)
        return out

    async def record(self, record: AccessRecord) -> None:
        await self.audit_log.append(access_event(record))

    async def record_rejection(self, request: Request, reason: str) -> None:
        """One `rejected` entry (no token, no body: the reason, the client's network, the
        time), unless this network already had its share this minute (then it is counted
        and summarised later)."""
        client = getattr(request, "client", None)
        network = source_network(client.host if client is not None else None) or "unknown"
        now = self.clock()
        admission = self.rejections.admit(network, now.timestamp())
        await self._summarise(admission.summaries, now)
        if admission.log:
            await self.audit_log.append(rejection_event(now, network, reason))

    async def _summarise(self, summaries: Sequence[tuple[str, int]], now: datetime) -> None:
        for network, count in summaries:
            await self.audit_log.append(
                rejection_event(now, network, "suppressed", suppressed=count))

    async def close(self) -> None:
        """Sign a last checkpoint so the tail of the log is covered too; release the held
        connection."""
        try:
            await self._summarise(self.rejections.flush(), self.clock())
            await self.audit_log.drain()
            if self.config.hub_private_key_path is not None:
                await self.audit_log.checkpoint()
        finally:
            await self.audit_log.close()
            if self.watch is not None:
                await self.watch.close()
            close = getattr(self.replay_cache, "aclose", None)
            if close is not None:
                await close()


def _read_registry(path: Path) -> dict[str, object]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RegistryError(f"cannot read trust registry {path}: {exc}") from exc
    document = strict_loads(data)
    if not isinstance(document, dict):
        raise RegistryError(f"trust registry {path} is not a signed registry (a JSON object)")
    return document


def _declared_purposes(contracts: Sequence[Contract]) -> dict[str, frozenset[str]]:
    """party -> every purpose the given contracts of it declare."""
    out: dict[str, set[str]] = {}
    for contract in contracts:
        for party in contract.parties:
            out.setdefault(party, set()).update(contract.purposes)
    return {p: frozenset(ps) for p, ps in out.items()}


def rejection_event(now: datetime, network: str, reason: str, *,
                    suppressed: int | None = None) -> AuditEvent:
    """A request refused before it was authenticated or could run: nobody is known."""
    return AuditEvent(at=now, party=None, user=None, purpose=None, decision=Decision.REJECTED,
                      operation_hash=operation_hash(""), reason=reason, source=network,
                      suppressed=suppressed)


async def _submit_configured(store: ContractStore, path: Path, registry: Registry,
                             now: datetime) -> None:
    """Submit a contract named in `[trust].contracts`, as at every start. One that has since
    been revoked, superseded or has expired has nothing left to submit: the hub starts without
    it (and says so in its log) instead of refusing to start, which would let any party that
    revokes a contract take the hub down at its next restart."""
    try:
        # a small local file, read once per hub start before the first request is served
        envelope = strict_loads(path.read_bytes())  # noqa: ASYNC240
    except OSError as exc:
        raise ContractError(f"trust.contracts: cannot read {path}: {exc}") from exc
    except ContractError as exc:
        raise ContractError(f"trust.contracts: {path}: {exc}") from exc
    contract = parse_contract(parse_general(envelope).payload)
    state: ContractState | None
    try:
        state = (await store.get(contract.digest, now=now)).state
    except NotFound:
        state = ContractState.EXPIRED if now >= contract.not_after else None
    if state in TERMINAL_STATES:
        log.warning("contract %s v%s (%s) is %s: not submitted at startup; remove it from "
                    "[trust].contracts", contract.id, contract.version, path.name, state)
        return
    await store.submit(envelope, registry, now=now)
