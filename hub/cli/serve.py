"""`yanxing serve --config yanxing.toml [--host 127.0.0.1] [--port 8000]`.

With a `[trust]` table in yanxing.toml (hub.settings) the hub serves under signed contracts:
party tokens, contract policy per request, audit log. `--trust FILE` (a file holding only a
`[trust]` table) still works and overrides it, deprecated: it goes in the next release.

It runs in production mode unless `[hub] mode = "development"` (hub.settings.Mode); a
production hub without `[trust]` (and without `[hub] open_access = true`) refuses to start.

The configuration is loaded and validated before the server starts, so a bad file lists all
its problems and exits 2 (hub.cli.main) instead of failing inside uvicorn's startup. So is the
database: serve never migrates it; one behind the code's migration head (or unreachable) is
refused with exit 2 and the advice to run `yanxing db upgrade`. So is the trust registry,
against the newest one the hub's database accepted (a downgrade: exit 2).

`--workers N` runs N processes on one port (uvicorn's supervisor restarts one that dies).
They share what must be shared through the database (the audit chain, contract state,
registry version, outbox) and Redis; so several workers need a replay cache every process
sees (`[trust] replay_cache` = "database" or redis://): with "memory" a token spent in one
process could be replayed in another, and serve refuses (exit 2). Per process, and so
multiplied by N: source breakers, in-memory rate limits, /metrics (a scrape sees one worker).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hub.cli._args import PORT, WORKERS
from hub.errors import ConfigError, ContractError

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from hub.settings import TrustConfig

__all__ = ["register", "run", "check_trust_files", "worker_app"]

#: how `serve --workers N` tells each worker process what to serve (uvicorn starts them fresh)
CONFIG_ENV = "YANXING_SERVE_CONFIG"
TRUST_ENV = "YANXING_SERVE_TRUST"

T = TypeVar("T")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve the GraphQL API with uvicorn (production mode by default)",
        description="Open the index and every configured source, then serve /graphql, "
        "/healthz and /readyz. Production mode (the default) needs a [trust] table (or [hub] "
        "open_access = true) and serves no GraphiQL, introspection or field suggestions; "
        '[hub] mode = "development" turns them on.',
    )
    parser.add_argument("--config", default="yanxing.toml", type=Path, help="hub configuration")
    parser.add_argument("--trust", type=Path, default=None,
                        help="DEPRECATED (removed in the next release): a file with a [trust] "
                        "table, overriding yanxing.toml's [trust]")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: local)")
    parser.add_argument("--port", default=8000, type=PORT, help="port (0: any free port)")
    parser.add_argument("--workers", default=1, type=WORKERS,
                        help="worker processes on the one port (default 1; the cores for a "
                        "busy hub; needs a shared replay cache, see [trust] replay_cache)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.app import create_app
    from hub.cli.db import check_schema
    from hub.settings import load_settings

    settings = load_settings(args.config)
    trust = settings.trust
    if args.trust is not None:
        from hub.contracts.trust import load_trust_config

        trust = load_trust_config(args.trust)
        print(f"yanxing serve: --trust is deprecated and will be removed in the next release; "
              f"move the [trust] table of {args.trust} into {args.config} (paths relative to "
              f"it){' (it overrides the [trust] there)' if settings.trust else ''}",
              file=sys.stderr)
    # SIGTERM: stop accepting, let running requests finish for at most
    # limits.shutdown_timeout_seconds, then cancel them (each also ends at its own deadline)
    app = create_app(settings, trust=trust, migrate=False)  # refuses a bad mode first
    if trust is not None:
        check_trust_files(trust, {s.owner for s in settings.sources if s.owner})
    check_schema(settings.hub.database_url)
    if trust is not None:
        from hub.cli._registry_db import check_registry_not_older

        # a registry older than one the hub accepted could bring revoked keys back
        check_registry_not_older(settings.hub.database_url, trust)
    # uvicorn annotates the timeout as int but hands it to asyncio.wait_for, which takes float
    # seconds; the setting allows fractions (hub.settings.Limits)
    shutdown: Any = settings.limits.shutdown_timeout_seconds
    from hub.api.observe import logging_config

    options: dict[str, Any] = {
        "host": args.host, "port": args.port, "log_level": "info",
        "log_config": logging_config(settings.hub.log_format or "json"),
        "timeout_graceful_shutdown": shutdown,
    }
    if args.workers == 1:
        uvicorn.run(app, **options)
        return 0
    if trust is not None and trust.replay_cache == "memory":
        raise ContractError(
            f"--workers {args.workers} needs a replay cache every worker sees: with "
            '[trust] replay_cache = "memory" a token spent in one process could be replayed '
            'in another; set replay_cache = "database" (or a redis:// URL), or serve with '
            "--workers 1")
    # each worker builds its own app from the same files (checked above, once)
    os.environ[CONFIG_ENV] = str(Path(args.config).resolve())
    if args.trust is not None:
        os.environ[TRUST_ENV] = str(Path(args.trust).resolve())
    uvicorn.run(f"{__name__}:worker_app", factory=True, workers=args.workers, **options)
    return 0


def worker_app() -> Starlette:
    """The app of one `serve --workers N` process (uvicorn calls this in each worker)."""
    from hub.app import create_app
    from hub.settings import load_settings

    settings = load_settings(Path(os.environ[CONFIG_ENV]))
    trust = settings.trust
    if TRUST_ENV in os.environ:
        from hub.contracts.trust import load_trust_config

        trust = load_trust_config(Path(os.environ[TRUST_ENV]))
    return create_app(settings, trust=trust, migrate=False)


def check_trust_files(trust: TrustConfig, owners: set[str]) -> None:
    """Before uvicorn starts, the checks the hub's startup (`Trust.open`) makes on the trust
    files: keys readable and matching, the registry signed by the hub key, current and naming
    every source owner, each contract file a contract validly signed under it. A failure
    inside uvicorn's lifespan prints a traceback and exits 3; here every problem found is
    listed (ConfigError: "configuration is invalid", exit 2 through hub.cli), so adding a
    party shows all that is left to do in one run. `Trust.open` checks everything again,
    with the database."""
    from hub.cli._json_files import read_document
    from hub.contracts.keys import load_private_key, load_public_key
    from hub.contracts.lifecycle import verify_contract
    from hub.contracts.trust_registry import load_registry

    problems: list[str] = []

    def step(what: str, path: Path, load: Callable[[], T]) -> T | None:
        try:
            return load()
        except ContractError as exc:
            problems.append(f"trust.{what} ({path}): {exc}")
        except OSError as exc:
            problems.append(f"trust.{what} ({path}): {exc.strerror or exc}")
        return None

    hub_public = step("hub_public_key", trust.hub_public_key_path,
                      lambda: load_public_key(trust.hub_public_key_path))
    registry = None if hub_public is None else step(
        "registry", trust.registry_path, lambda: load_registry(trust.registry_path, hub_public))
    if trust.hub_private_key_path is not None:
        private_path = trust.hub_private_key_path
        private = step("hub_private_key", private_path, lambda: load_private_key(private_path))
        if private is not None and hub_public is not None and \
                private.public_key().public_bytes_raw() != hub_public.public_bytes_raw():
            problems.append("trust.hub_private_key does not match trust.hub_public_key")
    if registry is not None:
        missing = sorted(owners - set(registry.parties))
        if missing:
            problems.append(
                f"sources are owned by parties missing from the trust registry: "
                f"{', '.join(missing)}; add them with `yanxing registry add-party` and "
                "`registry add-key`, then `registry sign`")
        for path in trust.contracts:
            try:
                verify_contract(read_document(path), registry)
            except ContractError as exc:
                problems.append(f"trust.contracts ({path}): {exc}")
    if problems:
        raise ConfigError([f"[trust]: {p}" for p in problems])
