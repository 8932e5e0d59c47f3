"""The GraphiQL page: every script and stylesheet comes from this package, none from a CDN.

The hub runs where nothing may reach the internet, so GraphiQL 3.8.3 and React 18.3.1 UMD builds
are vendored under hub/api/static/graphiql/ (see LICENSE.* there) and served at /static/.
The header editor is enabled so a party token (`Authorization: Bearer ...`) can be set.
"""

from __future__ import annotations

import json

__all__ = ["graphiql_html", "ASSETS"]

ASSETS = (
    "graphiql/react.production.min.js",
    "graphiql/react-dom.production.min.js",
    "graphiql/graphiql.min.js",
    "graphiql/graphiql.min.css",
)

_DEFAULT_QUERY = """# 雁行 Yanxing — 流动党员共管联邦查询
{
  members(first: 5) {
    totalCount
    nodes { key name status idNumber phone destination { region { name } employer } sources { system fields } }
  }
}
"""

_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>雁行 Yanxing · GraphiQL</title>
<link rel="stylesheet" href="{static}/graphiql/graphiql.min.css">
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="{static}/graphiql/react.production.min.js"></script>
<script src="{static}/graphiql/react-dom.production.min.js"></script>
<script src="{static}/graphiql/graphiql.min.js"></script>
<script>
  const fetcher = GraphiQL.createFetcher({{ url: {endpoint} }});
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {{
    fetcher,
    defaultQuery: {query},
    headers: {headers},
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
  }}));
</script>
</body>
</html>
"""


def graphiql_html(
    endpoint: str = "/graphql", static: str = "/static", headers: dict[str, str] | None = None
) -> str:
    """The page; `headers` prefill the header editor (stage 2: a party token per party)."""
    return _PAGE.format(
        static=static,
        endpoint=json.dumps(endpoint),
        query=json.dumps(_DEFAULT_QUERY),
        headers=json.dumps(json.dumps(headers or {}, indent=2)),
    )
