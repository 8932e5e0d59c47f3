"""yanxing.toml -> frozen, typed `Settings`, with every problem reported at once.

Read once at startup (starlette `config.py`; value objects like httpx `Limits`). Nothing is
half-valid: `load_settings` checks the file, every key and type, the secret, and each source's
mapping file (through `connectors.mapping.load_mapping`), then raises one `ConfigError`
listing all problems, so an operator fixes the file in one pass. Example:

```toml
[hub]
database_url = "sqlite+aiosqlite:///var/yanxing.db"   # relative SQLite paths: from this file
secret = "${YANXING_SECRET}"                           # >= 32 bytes; keys member hashes
public_url = "http://127.0.0.1:8000"
mode = "production"                                    # or "development" (what `demo` writes)
allow_introspection = false                            # production: __schema/__type refused
federation = true                                      # Apollo Federation 2 subgraph (default)
open_access = false                                    # production without [trust]: refuse to
                                                       #   start unless a gateway authenticates

[limits]                                               # all optional, safe defaults
max_depth = 10

[[sources]]
mapping = "mappings/chengdu.toml"                      # relative to this file
owner = "chengdu-operator"                             # the owning party's id
[sources.connection]                                   # merged into the mapping's [connection]
base_url = "http://127.0.0.1:8101"

[trust]                                                # optional: serve under signed contracts
registry = "trust/registry.json"                       # signed by the hub key; paths relative
hub_public_key = "trust/keys/hub-1.pub.pem"            #   to this file, and must exist
hub_private_key = "trust/keys/hub-1.key.pem"           # optional: signs audit checkpoints
hub_kid = "hub-1"                                      # the registry's hub key id by default
audience = "yanxing-hub"                               # the registry's hub id by default
enforce = true                                         # false: verify and audit, masking policy
checkpoint_every = 100                                 # 1..100000
audit_anchor = "audit-anchor.jsonl"                    # append-only copy of every signed
                                                       #   checkpoint, outside the database
audit_rejections_per_minute = 10                       # rejected requests logged one by one
audit_rejections_total_per_minute = 300                #   per client network / in all
contracts = ["trust/contracts/a.jws.json"]             # optional: submitted at startup
replay_cache = "redis://127.0.0.1:6379/0"              # or "database" (default), "memory"
replay_cache_prefix = "yanxing:replay:"                # Redis key prefix
own_data_purposes = ["own-records"]                    # token purposes for own data only
```
`${VAR}` and `${VAR:-default}` are substituted from the environment in [hub] values.
`[trust]` becomes `Settings.trust` (a `TrustConfig`, None without the table); the registry and
keys themselves are verified when the app starts (hub.contracts.trust.Trust.open).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from connectors.errors import ConnectorConfigError
from connectors.extensions import ExtensionField, extension_types, read_extensions
from connectors.secret import Secret
from hub.errors import ConfigError
from hub.model import Side

__all__ = [
    "PURPOSE",
    "Settings",
    "HubSettings",
    "Mode",
    "PRODUCTION",
    "DEVELOPMENT",
    "Limits",
    "RateLimits",
    "PartyRate",
    "SourceConfig",
    "TrustConfig",
    "TRUST_KEYS",
    "Secret",
    "load_settings",
    "read_trust_table",
    "read_audit_location",
    "database_url_problems",
    "MIN_SECRET_BYTES",
]

MIN_SECRET_BYTES = 32
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}

MappingLoader = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class PartyRate:
    """One token bucket's shape: `per_second` refilled, at most `burst` saved up (0: off)."""

    per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class RateLimits:
    """`[limits.rate]`: token buckets per party (after authentication) and per client address
    (before it), shared by every hub process through Redis when one is configured
    (hub.api.ratelimit). A bucket refills `*_per_second` tokens a second up to `*_burst`; a
    request takes one, and one that finds none is answered 429 RATE_LIMITED with Retry-After.
    `per_second = 0` turns that bucket off. `parties` overrides the party bucket per party id.
    """

    party_per_second: float = 50.0
    party_burst: int = 100
    address_per_second: float = 100.0
    address_burst: int = 200
    #: (party id, its bucket) pairs: a tuple, so that Limits stays hashable
    parties: tuple[tuple[str, PartyRate], ...] = ()

    def for_party(self, party: str) -> PartyRate:
        for name, rate in self.parties:
            if name == party:
                return rate
        return PartyRate(self.party_per_second, self.party_burst)

    @property
    def address(self) -> PartyRate:
        return PartyRate(self.address_per_second, self.address_burst)


#: [limits.rate] keys (besides the `parties` table) and their accepted ranges
_RATE_RANGES: Mapping[str, tuple[float, float]] = {
    "party_per_second": (0, 1_000_000), "party_burst": (1, 10_000_000),
    "address_per_second": (0, 1_000_000), "address_burst": (1, 10_000_000),
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Safety limits, each with a safe default.

    The API enforces these (hub.api.limits re-exports this class).
    """

    max_depth: int = 10
    max_page_size: int = 100
    default_page_size: int = 20
    max_cost: int = 20_000
    max_body_bytes: int = 100_000
    max_members_per_request: int = 500
    source_timeout_seconds: float = 5.0
    sync_page_size: int = 500
    #: field selections once every fragment spread is inlined (hub.api.extensions.document_limits)
    max_fields: int = 2_000
    #: aliased fields, expanded likewise: 2,500 aliases of one expensive field are one DoS
    max_aliases: int = 30
    #: directives written in the document (each also at most once per location)
    max_directives: int = 50
    #: items a list without `first` returns at most (attendees, a member's activities...);
    #: the cost model counts each such list at this size, and the resolvers enforce it
    max_list_size: int = 100
    #: a request still running after this many seconds ends with REQUEST_TIMEOUT
    request_timeout_seconds: float = 30.0
    #: source health (from /readyz or `sources(ping: true)`) is reused this long, so probes
    #: cannot be turned into load on the sources
    health_cache_seconds: float = 5.0
    #: on SIGTERM, requests still running after this many seconds are cancelled
    shutdown_timeout_seconds: float = 10.0
    #: consecutive timeouts or connection errors after which a source's breaker opens and its
    #: reads fail at once with SOURCE_UNAVAILABLE (hub.federation.breaker)
    breaker_failures: int = 5
    #: seconds an open breaker waits before it lets one probe read through
    breaker_reset_seconds: float = 10.0
    #: share of reads that may be retried once after a timeout or connection error
    retry_budget_ratio: float = 0.1
    #: /graphql requests served at once; past it they queue (hub.api.overload)
    max_concurrent_requests: int = 32
    #: requests waiting for a slot; past it 503 OVERLOADED at once, with Retry-After
    max_queued_requests: int = 32
    #: a queued request still without a slot after this long is answered 503 OVERLOADED
    queue_timeout_seconds: float = 1.0
    #: [limits.rate]: token buckets per party and per client address (hub.api.ratelimit)
    rate: RateLimits = RateLimits()
    #: statistics suppress cells counting fewer people than this (never below 3): no
    #: observer can single out a person (hub.exchange.suppression)
    statistics_min_count: int = 5


#: accepted range per limit: a typo like max_page_size = 1000000 is an error, not a DoS
_LIMIT_RANGES: Mapping[str, tuple[float, float]] = {
    "max_depth": (1, 50),
    "max_page_size": (1, 1000),
    "default_page_size": (1, 1000),
    "max_cost": (1, 10_000_000),
    "max_body_bytes": (1_000, 100_000_000),
    "max_members_per_request": (1, 100_000),
    "source_timeout_seconds": (0.01, 600),
    "sync_page_size": (1, 10_000),
    "max_fields": (1, 1_000_000),
    "max_aliases": (0, 10_000),
    "max_directives": (0, 10_000),
    "max_list_size": (1, 10_000),
    "request_timeout_seconds": (0.1, 3_600),
    "health_cache_seconds": (0, 3_600),
    "shutdown_timeout_seconds": (0.1, 600),
    "breaker_failures": (1, 1_000),
    "breaker_reset_seconds": (0.1, 3_600),
    "retry_budget_ratio": (0, 1),
    "max_concurrent_requests": (1, 100_000),
    "max_queued_requests": (0, 1_000_000),
    "queue_timeout_seconds": (0, 600),
    "statistics_min_count": (3, 1_000),
}
#: limits given in seconds (a number); every other limit is an integer
_FLOAT_LIMITS = frozenset({"source_timeout_seconds", "request_timeout_seconds",
                           "health_cache_seconds", "shutdown_timeout_seconds",
                           "breaker_reset_seconds", "retry_budget_ratio",
                           "queue_timeout_seconds"})


PRODUCTION = "production"
DEVELOPMENT = "development"


@dataclass(frozen=True, slots=True)
class Mode:
    """How much the endpoint shows of itself, from [hub] mode / allow_introspection /
    open_access.

    Production (the default) answers GraphQL and nothing else: no introspection, no GraphiQL,
    no "Did you mean" suggestions, GET only for queries carrying a header a browser cannot send
    cross-site without a CORS preflight, and no start without [trust] (unless `open_access`
    says another gateway authenticates). Development (`yanxing demo`, tests) keeps GraphiQL,
    introspection and suggestions, because a developer exploring the schema needs them and an
    attacker mapping it finds them just as useful.
    """

    name: str = PRODUCTION
    allow_introspection: bool = False
    open_access: bool = False

    @classmethod
    def development(cls) -> Mode:
        return cls(DEVELOPMENT)

    @property
    def is_development(self) -> bool:
        return self.name == DEVELOPMENT

    @property
    def introspection(self) -> bool:
        """`__schema` / `__type` answered (`__typename` always is)."""
        return self.is_development or self.allow_introspection

    @property
    def graphiql(self) -> bool:
        """GraphiQL at / and at /graphql for browsers, with its static assets."""
        return self.is_development

    @property
    def suggestions(self) -> bool:
        """Validation messages keep graphql-core's "Did you mean ..." hints."""
        return self.is_development

    @property
    def csrf_checks(self) -> bool:
        """GET needs a header that forces a CORS preflight (hub.api.csrf)."""
        return not self.is_development


@dataclass(frozen=True, slots=True)
class HubSettings:
    #: SQLAlchemy async URL; not in repr because it may carry a password
    database_url: str = field(repr=False)
    secret: Secret
    public_url: str = "http://127.0.0.1:8000"
    mode: Mode = Mode()
    #: serve the Apollo Federation 2 subgraph schema (`_service`, policed `_entities`;
    #: hub.api.subgraph) so a supergraph router can compose the hub in; a superset of the
    #: published schema, so plain clients are unaffected
    federation: bool = True
    #: CIDRs whose clients may read /metrics (everyone else: 404); loopback by default
    metrics_allow: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    #: OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); None: no export
    otlp_endpoint: str | None = None
    #: the server's log lines: "json" (one object per line) or "text"; None: the command's
    #: default (json for `serve`, text for `demo`)
    log_format: str | None = None
    #: origins (scheme://host[:port]) whose pages may call the hub from a browser (CORS);
    #: none by default
    cors_origins: tuple[str, ...] = ()
    #: Redis shared by every hub process for the rate limits; None: [trust] replay_cache's
    #: when that is a Redis URL, else each process keeps its own buckets
    redis_url: str | None = field(default=None, repr=False)
    #: development mode only: party private keys (PEM) the token route (/dev/token) and
    #: GraphiQL's party picker sign with; each is matched to its party in the trust registry
    dev_party_keys: tuple[Path, ...] = ()

    @property
    def secret_bytes(self) -> bytes:
        """The key for member and phone hashes (hub.federation.identity)."""
        return self.secret.reveal().encode("utf-8")

    @property
    def database_url_display(self) -> str:
        """The URL with any password masked, for logs and error messages."""
        return make_url(self.database_url).render_as_string(hide_password=True)


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One connected system: its validated mapping, side and owning party."""

    name: str
    side: Side
    owner: str
    mapping_path: Path
    #: the [sources.connection] overrides as written (already merged into `mapping`)
    connection: Mapping[str, Any]
    #: connectors.mapping.SourceMapping; open it with connectors.factory.open_connector
    mapping: Any = field(repr=False)
    title: str | None = None


@dataclass(frozen=True, slots=True)
class TrustConfig:
    """Where the trust material is (hub.contracts.trust serves under it). Paths are used as
    given; `read_trust_table` resolves relative ones against the configuration file."""

    registry_path: Path
    hub_public_key_path: Path
    hub_private_key_path: Path | None = None
    hub_kid: str | None = None
    audience: str | None = None
    enforce: bool = True
    checkpoint_every: int = 100
    contracts: tuple[Path, ...] = ()
    #: where used token ids are kept (hub.contracts.replay): "database" (the hub's, shared by
    #: every process on it), a redis:// URL, or "memory" (one process only: tests, demo)
    replay_cache: str = "database"
    replay_cache_prefix: str = "yanxing:replay:"
    #: token purposes accepted without a contract declaring them: they never reach past the
    #: caller's own sources (any other purpose must be declared by an active contract of the
    #: caller; hub.contracts.trust)
    own_data_purposes: tuple[str, ...] = ("own-records",)
    #: every signed audit checkpoint is appended here too (None: nowhere; yanxing.toml
    #: defaults it to audit-anchor.jsonl next to the file)
    audit_anchor: Path | None = None
    #: rejected requests (bad token, malformed request) audited one by one per client
    #: network and minute; the rest are counted in one "k more suppressed" entry
    audit_rejections_per_minute: int = 10
    #: the same, over all networks together (a flood from many addresses)
    audit_rejections_total_per_minute: int = 300


TRUST_KEYS = ("registry", "hub_public_key", "hub_private_key", "hub_kid", "audience", "enforce",
              "checkpoint_every", "contracts", "replay_cache", "replay_cache_prefix",
              "own_data_purposes", "audit_anchor", "audit_rejections_per_minute",
              "audit_rejections_total_per_minute")
#: a purpose, as contracts declare them (schema/contract.schema.json); tokens and the audit
#: log hold purposes to the same pattern (hub.audit.privacy)
PURPOSE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
#: the anchor file's name when [trust] does not say (next to yanxing.toml)
DEFAULT_AUDIT_ANCHOR = "audit-anchor.jsonl"


@dataclass(frozen=True, slots=True)
class Settings:
    hub: HubSettings
    limits: Limits = Limits()
    sources: tuple[SourceConfig, ...] = ()
    path: Path | None = None
    #: the [trust] table: serve under signed contracts (None: no contracts)
    trust: TrustConfig | None = None
    #: [extensions.member.<name>]: this deployment's extension fields (connectors.extensions)
    extensions: tuple[ExtensionField, ...] = ()

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sources)

    def source(self, name: str) -> SourceConfig:
        """The source called `name`; ConfigError listing the configured names otherwise."""
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(self.source_names) or "(none)"
        raise ConfigError(f"no source named {name!r}; configured sources: {known}")

    @classmethod
    def for_demo(
        cls,
        *,
        database_url: str = "sqlite+aiosqlite:///:memory:",
        secret: str = "demo-secret-not-for-production-0123456789",
        sources: Sequence[SourceConfig] = (),
        limits: Limits | None = None,
        public_url: str = "http://127.0.0.1:8000",
        mode: Mode | None = None,
    ) -> Settings:
        """Settings built in code (demo, tests), validated like a file would be. Development
        mode unless `mode` says otherwise, as for `yanxing demo`."""
        problems = _secret_problems(secret) + _url_problems(database_url)
        names = [s.name for s in sources]
        problems += [
            f"duplicate source name {n!r}" for n in sorted({n for n in names if names.count(n) > 1})
        ]
        if problems:
            raise ConfigError(problems)
        hub = HubSettings(database_url, Secret(secret), public_url, mode or Mode.development())
        return cls(hub, limits or Limits(), tuple(sources))


def _secret_problems(secret: str) -> list[str]:
    if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        return [
            f"hub.secret is too short: at least {MIN_SECRET_BYTES} bytes are needed "
            f"(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        ]
    return []


def _url_problems(url: str, what: str = "hub.database_url") -> list[str]:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return [f"{what} is not a database URL (e.g. sqlite+aiosqlite:///yanxing.db)"]
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend not in _DRIVERS:
        return [f"{what}: unsupported database {backend!r} (use sqlite or postgresql)"]
    if driver != _DRIVERS[backend]:
        return [f"{what}: use the async driver: {backend}+{_DRIVERS[backend]}://..."]
    return []


def database_url_problems(url: str, what: str) -> list[str]:
    """What is wrong with a database URL given elsewhere than yanxing.toml (a CLI's `--db`),
    by the rules `hub.database_url` follows; empty when it can be opened."""
    return _url_problems(url, what)


class _Reader:
    """Collects problems while reading typed values out of the parsed TOML."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def unknown(self, where: str, table: Mapping[str, Any], known: Sequence[str]) -> None:
        for key in table:
            if key not in known:
                self.problems.append(f"{where}: unknown key {key!r} (known: {', '.join(known)})")

    def table(self, where: str, value: Any) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problems.append(f"{where} must be a table, got {type(value).__name__}")
            return {}
        return value

    def text(self, where: str, value: Any, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.problems.append(f"{where} is required")
            return None
        if not isinstance(value, str):
            self.problems.append(f"{where} must be a string, got {type(value).__name__}")
            return None
        return self.substitute(where, value)

    def substitute(self, where: str, value: str) -> str | None:
        missing: list[str] = []

        def one(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            missing.append(name)
            return ""

        out = _ENV_REF.sub(one, value)
        for name in missing:
            self.problems.append(f"{where}: environment variable {name} is not set")
        return None if missing else out


def _read_limits(reader: _Reader, raw: Mapping[str, Any]) -> Limits:
    names = [f.name for f in fields(Limits)]
    reader.unknown("[limits]", raw, names)
    values: dict[str, Any] = {}
    if "rate" in raw:
        values["rate"] = _read_rate(reader, reader.table("[limits.rate]", raw["rate"]))
    for name in names:
        if name not in raw or name == "rate":
            continue
        value = raw[name]
        is_float = name in _FLOAT_LIMITS
        ok_type = isinstance(value, (int, float)) if is_float else isinstance(value, int)
        if isinstance(value, bool) or not ok_type:
            kind = "a number" if is_float else "an integer"
            reader.problems.append(f"limits.{name} must be {kind}, got {value!r}")
            continue
        low, high = _LIMIT_RANGES[name]
        if not low <= value <= high:
            reader.problems.append(f"limits.{name} = {value} is outside {low:g}..{high:g}")
            continue
        values[name] = float(value) if is_float else value
    return Limits(**values)


def _number(reader: _Reader, where: str, value: Any, low: float, high: float, *,
            integer: bool) -> float | int | None:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok:
        reader.problems.append(f"{where} must be {'an integer' if integer else 'a number'}, "
                               f"got {value!r}")
        return None
    if not low <= value <= high:
        reader.problems.append(f"{where} = {value} is outside {low:g}..{high:g}")
        return None
    return value if integer else float(value)


def _read_rate(reader: _Reader, raw: Mapping[str, Any]) -> RateLimits:
    """[limits.rate] and its [limits.rate.parties."party-id"] tables."""
    reader.unknown("[limits.rate]", raw, (*_RATE_RANGES, "parties"))
    values: dict[str, Any] = {}
    for key, (low, high) in _RATE_RANGES.items():
        if key in raw:
            value = _number(reader, f"limits.rate.{key}", raw[key], low, high,
                            integer=key.endswith("burst"))
            if value is not None:
                values[key] = value
    parties: dict[str, PartyRate] = {}
    for party, table in reader.table("[limits.rate.parties]", raw.get("parties")).items():
        where = f"limits.rate.parties.{party}"
        spec = reader.table(where, table)
        reader.unknown(where, spec, ("per_second", "burst"))
        if "per_second" not in spec or "burst" not in spec:
            reader.problems.append(f"{where} needs per_second and burst")
            continue
        rate = _number(reader, f"{where}.per_second", spec["per_second"], 0, 1_000_000,
                       integer=False)
        burst = _number(reader, f"{where}.burst", spec["burst"], 1, 10_000_000, integer=True)
        if rate is not None and burst is not None:
            parties[party] = PartyRate(float(rate), int(burst))
    return RateLimits(**values, parties=tuple(sorted(parties.items())))


_ORIGIN = re.compile(r"^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$")


def _read_front_end(reader: _Reader, raw: Mapping[str, Any], base: Path, mode: Mode
                    ) -> tuple[tuple[str, ...], str | None, tuple[Path, ...]]:
    """[hub] cors_origins, redis_url and dev_party_keys (hub.api.cors, hub.api.ratelimit,
    hub.api.devtokens)."""
    origins = raw.get("cors_origins", [])
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        reader.problems.append('hub.cors_origins must be a list of origins, e.g. '
                               '["https://app.example.org"]')
        origins = []
    for origin in origins:
        if not _ORIGIN.match(origin):
            reader.problems.append(
                f"hub.cors_origins: {origin!r} is not an origin (scheme://host[:port], no path, "
                'no trailing slash; "*" is not allowed: name each front end)')
    redis_url = reader.text("hub.redis_url", raw.get("redis_url"))
    if redis_url is not None and not _valid_redis_url(redis_url):
        reader.problems.append(f"hub.redis_url must be a redis://host:port/db URL, got "
                               f"{_redacted(redis_url)!r}")
        redis_url = None
    keys_raw = raw.get("dev_party_keys", [])
    keys: list[Path] = []
    if not isinstance(keys_raw, list) or not all(isinstance(k, str) for k in keys_raw):
        reader.problems.append("hub.dev_party_keys must be a list of private key paths")
        keys_raw = []
    if keys_raw and not mode.is_development:
        reader.problems.append(
            'hub.dev_party_keys is for development mode only ([hub] mode = "development"): '
            "a hub that holds parties' private keys can speak for them; remove it")
    for item in keys_raw:
        path = Path(item) if Path(item).is_absolute() else (base / item).resolve()
        if not path.is_file():
            reader.problems.append(f"hub.dev_party_keys: file not found: {path}")
        keys.append(path)
    return tuple(dict.fromkeys(origins)), redis_url, tuple(keys)


def _read_hub(reader: _Reader, raw: Mapping[str, Any], base: Path) -> HubSettings | None:
    reader.unknown("[hub]", raw, ("database_url", "secret", "public_url", "federation",
                                  "metrics_allow", "otlp_endpoint", "log_format",
                                  "cors_origins", "redis_url", "dev_party_keys",
                                  *_MODE_KEYS))
    observing = _read_observing(reader, raw)
    mode = _read_mode(reader, raw)
    front_end = _read_front_end(reader, raw, base, mode)
    federation = raw.get("federation", True)
    if not isinstance(federation, bool):
        reader.problems.append(f"hub.federation must be true or false, got {federation!r}")
        federation = True
    url = reader.text("hub.database_url", raw.get("database_url", "sqlite+aiosqlite:///yanxing.db"))
    secret = reader.text("hub.secret", raw.get("secret"), required=True)
    public_url = reader.text("hub.public_url", raw.get("public_url", "http://127.0.0.1:8000"))
    if url is not None:
        url_problems = _url_problems(url)
        reader.problems.extend(url_problems)
        if not url_problems:
            url = _anchor_sqlite(url, base)
    if secret is not None:
        reader.problems.extend(_secret_problems(secret))
    if public_url is not None and not re.match(r"^https?://[^/\s]+", public_url):
        reader.problems.append(f"hub.public_url must be an http(s) URL, got {public_url!r}")
    if reader.problems or url is None or secret is None or public_url is None:
        return None
    return HubSettings(url, Secret(secret), public_url.rstrip("/"), mode, federation,
                       *observing, *front_end)


def _read_observing(reader: _Reader, raw: Mapping[str, Any]
                    ) -> tuple[tuple[str, ...], str | None, str | None]:
    """[hub] metrics_allow, otlp_endpoint and log_format (hub.api.observe)."""
    allow_raw = raw.get("metrics_allow", ["127.0.0.1/32", "::1/128"])
    allow: list[str] = []
    if not isinstance(allow_raw, list) or not all(isinstance(a, str) for a in allow_raw):
        reader.problems.append("hub.metrics_allow must be a list of CIDR strings, e.g. "
                               '["127.0.0.1/32"]')
    else:
        for cidr in allow_raw:
            try:
                ipaddress.ip_network(cidr, strict=False)
                allow.append(cidr)
            except ValueError:
                reader.problems.append(f"hub.metrics_allow: {cidr!r} is not a CIDR network")
    endpoint = raw.get("otlp_endpoint")
    if endpoint is not None and (not isinstance(endpoint, str)
                                 or not re.match(r"^https?://[^/\s]+", endpoint)):
        reader.problems.append(f"hub.otlp_endpoint must be an http(s) URL, got {endpoint!r}")
        endpoint = None
    log_format = raw.get("log_format")
    if log_format is not None and log_format not in ("json", "text"):
        reader.problems.append(f'hub.log_format must be "json" or "text", got {log_format!r}')
        log_format = None
    return tuple(allow), endpoint, log_format


_MODE_KEYS = ("mode", "allow_introspection", "open_access")


def _read_mode(reader: _Reader, raw: Mapping[str, Any]) -> Mode:
    name = raw.get("mode", PRODUCTION)
    if name not in (PRODUCTION, DEVELOPMENT):
        reader.problems.append(
            f'hub.mode must be "{PRODUCTION}" or "{DEVELOPMENT}", got {name!r}')
        name = PRODUCTION
    flags: dict[str, bool] = {}
    for key in ("allow_introspection", "open_access"):
        value = raw.get(key, False)
        if not isinstance(value, bool):
            reader.problems.append(f"hub.{key} must be true or false, got {value!r}")
            value = False
        flags[key] = value
    return Mode(name, **flags)


def _anchor_sqlite(url: str, base: Path) -> str:
    """Relative SQLite paths are relative to the config file, not to wherever yanxing runs."""
    parsed = make_url(url)
    db = parsed.database
    if (
        parsed.get_backend_name() != "sqlite"
        or not db
        or db == ":memory:"
        or Path(db).is_absolute()
    ):
        return url
    return parsed.set(database=str((base / db).resolve())).render_as_string(hide_password=False)


def _anchor_connection(connection: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """`[sources.connection]` paths are relative to yanxing.toml, where they are written (a
    relative SQLite `url` or ledger `file` used to resolve against the mapping's folder and
    silently create an empty database there). The mapping file's own paths stay relative to
    the mapping. A value with an ${ENV} reference is left to the environment."""
    out = dict(connection)
    url = out.get("url")
    if isinstance(url, str) and "${" not in url and url.startswith("sqlite"):
        out["url"] = _anchor_sqlite(url, base)
    file = out.get("file")
    if isinstance(file, str) and file and "${" not in file and not Path(file).is_absolute():
        out["file"] = str((base / file).resolve())
    return out


def _read_source(
    reader: _Reader, where: str, raw: Any, base: Path, env: Mapping[str, str],
    load_mapping: MappingLoader, extensions: tuple[ExtensionField, ...] = (),
) -> tuple[str | None, SourceConfig | None]:
    """The source's name (when its mapping loaded) and its config (when everything is valid)."""
    table = reader.table(where, raw)
    if not table:
        if isinstance(raw, dict):
            reader.problems.append(f"{where}: mapping and owner are required")
        return None, None
    reader.unknown(where, table, ("mapping", "owner", "connection"))
    mapping_text = reader.text(f"{where}.mapping", table.get("mapping"), required=True)
    owner = reader.text(f"{where}.owner", table.get("owner"), required=True)
    if owner is not None and not owner.strip():
        reader.problems.append(f"{where}.owner must name the owning party")
        owner = None
    connection = reader.table(f"{where}.connection", table.get("connection"))
    if mapping_text is None:
        return None, None
    path = (base / mapping_text).resolve()
    if not path.is_file():
        reader.problems.append(f"{where}.mapping: file not found: {path}")
        return None, None
    connection = _anchor_connection(connection, base)
    try:
        declared = {"extensions": extension_types(extensions)} if extensions else {}
        mapping = load_mapping(path, overrides=dict(connection), env=env, **declared)
    except ConnectorConfigError as exc:
        reader.problems.extend(f"{where}: {p}" for p in exc.problems)
        return None, None
    info = mapping.source
    try:
        side = Side(info.side)
    except ValueError:
        reader.problems.append(f"{where}: side must be origin or destination, got {info.side!r}")
        return info.name, None
    if owner is None:
        return info.name, None
    return info.name, SourceConfig(
        name=info.name, side=side, owner=owner.strip(), mapping_path=path,
        connection=MappingProxyType(dict(connection)), mapping=mapping,
        title=getattr(info, "title", None),
    )


def read_trust_table(table: Any, base: Path, problems: list[str]) -> TrustConfig | None:
    """Validate a `[trust]` table (paths relative to `base`), appending every problem to
    `problems`; the config when there were none. Shared by yanxing.toml and the deprecated
    `yanxing serve --trust FILE`."""
    if not isinstance(table, dict):
        problems.append(f"[trust] must be a table, got {type(table).__name__}")
        return None
    before = len(problems)
    problems += [f"trust: unknown key {k!r} (known: {', '.join(TRUST_KEYS)})"
                 for k in table if k not in TRUST_KEYS]

    def file(where: str, value: Any) -> Path | None:
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where} must be a path string, got {value!r}")
            return None
        path = Path(value) if Path(value).is_absolute() else (base / value).resolve()
        if not path.is_file():
            problems.append(f"{where}: file not found: {path}")
        return path

    def required(key: str) -> Path | None:
        if key not in table:
            problems.append(f"trust.{key} is required")
            return None
        return file(f"trust.{key}", table[key])

    registry = required("registry")
    public = required("hub_public_key")
    private = file("trust.hub_private_key", table["hub_private_key"]) \
        if "hub_private_key" in table else None
    enforce = table.get("enforce", True)
    if not isinstance(enforce, bool):
        problems.append(f"trust.enforce must be true or false, got {enforce!r}")
    every = table.get("checkpoint_every", 100)
    if not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= 100_000:
        problems.append(f"trust.checkpoint_every must be an integer 1..100000, got {every!r}")
    rate_limits: dict[str, int] = {}
    for key, default, high in (("audit_rejections_per_minute", 10, 10_000),
                               ("audit_rejections_total_per_minute", 300, 1_000_000)):
        value = table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
            problems.append(f"trust.{key} must be an integer 1..{high}, got {value!r}")
        rate_limits[key] = value
    anchor = _anchor_path(table.get("audit_anchor", DEFAULT_AUDIT_ANCHOR), base, problems)
    for key in ("hub_kid", "audience"):
        if key in table and (not isinstance(table[key], str) or not table[key].strip()):
            problems.append(f"trust.{key} must be a non-empty string, got {table[key]!r}")
    raw_contracts = table.get("contracts", [])
    contracts: list[Path] = []
    if not isinstance(raw_contracts, list):
        problems.append("trust.contracts must be a list of paths")
    else:
        for i, item in enumerate(raw_contracts):
            found = file(f"trust.contracts[{i}]", item)
            if found is not None:
                contracts.append(found)
    replay = table.get("replay_cache", "database")
    if not isinstance(replay, str) or not (
            replay in ("database", "memory") or _valid_redis_url(replay)):
        problems.append(
            "trust.replay_cache must be \"database\", \"memory\" (one process only) or a "
            f"redis://host:port/db URL, got {_redacted(replay)!r}")
    prefix = table.get("replay_cache_prefix", "yanxing:replay:")
    if not isinstance(prefix, str) or not 1 <= len(prefix) <= 64 or not prefix.isprintable():
        problems.append(f"trust.replay_cache_prefix must be 1..64 printable characters, "
                        f"got {prefix!r}")
    purposes = table.get("own_data_purposes", ["own-records"])
    if not isinstance(purposes, list) or not all(
            isinstance(p, str) and PURPOSE.match(p) for p in purposes):
        problems.append(f"trust.own_data_purposes must be a list of purposes matching "
                        f"{PURPOSE.pattern}, got {purposes!r}")
    if len(problems) > before or registry is None or public is None:
        return None
    return TrustConfig(
        registry_path=registry, hub_public_key_path=public, hub_private_key_path=private,
        hub_kid=table.get("hub_kid"), audience=table.get("audience"), enforce=enforce,
        checkpoint_every=every, contracts=tuple(contracts), replay_cache=replay,
        replay_cache_prefix=prefix, own_data_purposes=tuple(dict.fromkeys(purposes)),
        audit_anchor=anchor, **rate_limits,
    )


def _valid_redis_url(value: str) -> bool:
    """A URL redis.asyncio can open: redis://, rediss:// (TLS) or unix:// with a host or path,
    and a numeric database if one is given."""
    from urllib.parse import urlsplit

    if not value.startswith(_REDIS_SCHEMES):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return False
    if parts.scheme == "unix":
        return bool(parts.path)
    db = parts.path.lstrip("/")
    return bool(parts.hostname) and (db == "" or db.isdigit())


def _redacted(value: Any) -> Any:
    """A replay_cache value without a password (redis://user:secret@host)."""
    if isinstance(value, str) and "@" in value:
        return re.sub(r"//[^@/]*@", "//***@", value)
    return value


def _anchor_path(value: Any, base: Path, problems: list[str]) -> Path | None:
    """trust.audit_anchor: a file (created on the first checkpoint) in an existing directory;
    it must be outside the database, so that rewriting the database cannot rewrite it."""
    if not isinstance(value, str) or not value.strip():
        problems.append(f"trust.audit_anchor must be a path string, got {value!r}")
        return None
    path = Path(value) if Path(value).is_absolute() else (base / value).resolve()
    if path.is_dir():
        problems.append(f"trust.audit_anchor: {path} is a directory; name a file in it")
    elif not path.parent.is_dir():
        problems.append(f"trust.audit_anchor: directory not found: {path.parent}")
    return path


def _default_loader() -> MappingLoader:
    from connectors.mapping import load_mapping

    return load_mapping


def load_settings(
    path: Path,
    *,
    env: Mapping[str, str] | None = None,
    load_mapping: MappingLoader | None = None,
) -> Settings:
    """Read and validate `path`; raise ConfigError with every problem found.

    `env` defaults to os.environ; `load_mapping` to connectors.mapping.load_mapping (tests may
    pass another loader with the same signature).
    """
    env = os.environ if env is None else env
    path = Path(path)
    raw = _read_toml(path)
    base = path.resolve().parent
    reader = _Reader(env)
    reader.unknown("top level", raw, ("hub", "limits", "sources", "trust", "extensions"))
    extensions = (read_extensions(raw["extensions"], reader.problems)
                  if "extensions" in raw else ())
    if "hub" not in raw:
        reader.problems.append("[hub] table is required (with at least secret)")
    hub = _read_hub(reader, reader.table("[hub]", raw.get("hub", {})), base)
    limits = _read_limits(reader, reader.table("[limits]", raw.get("limits")))
    raw_sources = raw.get("sources", [])
    if not isinstance(raw_sources, list):
        reader.problems.append("sources must be an array of tables: [[sources]]")
        raw_sources = []
    loader = load_mapping or _default_loader()
    read = [
        _read_source(reader, f"sources[{i}]", item, base, env, loader, extensions)
        for i, item in enumerate(raw_sources)
    ]
    seen: dict[str, int] = {}
    for i, (name, _) in enumerate(read):
        if name is None:
            continue
        if name in seen:
            reader.problems.append(
                f"sources[{i}]: duplicate source name {name!r} (also sources[{seen[name]}])"
            )
        seen.setdefault(name, i)
    sources = [source for _, source in read]
    trust = read_trust_table(raw["trust"], base, reader.problems) if "trust" in raw else None
    if reader.problems or hub is None:
        raise ConfigError([f"{path}: {p}" for p in reader.problems])
    return Settings(hub, limits, tuple(s for s in sources if s is not None), path.resolve(),
                    trust, extensions)


def _read_toml(path: Path) -> dict[str, Any]:
    """The TOML document at `path`, or one ConfigError saying what is wrong with the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read configuration file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None  # message has line/column


def read_audit_location(path: Path, *, env: Mapping[str, str] | None = None,
                        ) -> tuple[str, TrustConfig | None]:
    """Just where the audit log is: `[hub] database_url` and `[trust]` of yanxing.toml, for
    `yanxing audit verify --config`, which must run where the sources' secrets are not set
    (an auditor's machine). Validated like `load_settings` does; ConfigError otherwise."""
    env = os.environ if env is None else env
    path = Path(path)
    raw = _read_toml(path)
    reader = _Reader(env)
    hub = reader.table("[hub]", raw.get("hub", {}))
    url = reader.text("hub.database_url",
                      hub.get("database_url", "sqlite+aiosqlite:///yanxing.db"))
    base = path.resolve().parent
    if url is not None:
        problems = _url_problems(url)
        reader.problems.extend(problems)
        url = url if problems else _anchor_sqlite(url, base)
    trust = read_trust_table(raw["trust"], base, reader.problems) if "trust" in raw else None
    if reader.problems or url is None:
        raise ConfigError([f"{path}: {p}" for p in reader.problems])
    return url, trust
