"""官员工作台, the officials' console: a party's web client of the hub, in Chinese.

Built only on the hub's public GraphQL schema, as a partner's front-end team would build it:
it imports `hub.client` (a party client that signs a fresh token per request) and hub core,
never the hub's server modules (tests/test_layers.py). Anything a page needs that the schema
lacks is a schema gap to fix in the hub, not a side door here.

Layout: `config` reads console.toml; `officials` and `sessions` sign officials in; `hub` calls
the hub as the signed-in official; `messages` turns `extensions.code` into sentences; `web`
renders pages and checks forms; `pages/` holds one module per page; `app` puts them together.
"""

from console.app import create_console_app
from console.config import ConsoleConfig, load_console_config

__all__ = ["ConsoleConfig", "create_console_app", "load_console_config"]
