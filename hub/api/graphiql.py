"""The GraphiQL page: every script and stylesheet comes from this package, none from a CDN.

The hub runs where nothing may reach the internet, so GraphiQL 3.8.3 and React 18.3.1 UMD builds
are vendored under hub/api/static/graphiql/ (see LICENSE.* there) and served at /static/.
The header editor is enabled so a party token (`Authorization: Bearer ...`) can be set; in
development mode with parties to sign for (the demo, or `[hub] dev_party_keys`) a party picker
fetches a fresh token from /dev/token for every request instead, introspection included (the
Docs panel's schema request is a request like any other: without a token a hub under [trust]
refuses it, and GraphiQL said "Error fetching schema"). Picking another party re-mounts
GraphiQL, so the schema is fetched again as that party.
"""

from __future__ import annotations

import html
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
    nodes {
      key name status idNumber phone
      destination { region { name } employer }
      sources { system fields }
    }
  }
}
"""

_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>雁行 Yanxing · GraphiQL</title>
<link rel="stylesheet" href="{static}/graphiql/graphiql.min.css">
<style>
  html, body {{ height: 100%; margin: 0; }}
  body {{ display: flex; flex-direction: column; }}
  #graphiql {{ flex: 1; min-height: 0; }}
  #party-bar {{ font: 14px system-ui, sans-serif; padding: 6px 12px; background: #f3f4f6;
               border-bottom: 1px solid #ddd; }}
  #party-bar select {{ font-size: 14px; margin: 0 8px; }}
</style>
</head>
<body>
{party_bar}<div id="graphiql">Loading GraphiQL…</div>
<script src="{static}/graphiql/react.production.min.js"></script>
<script src="{static}/graphiql/react-dom.production.min.js"></script>
<script src="{static}/graphiql/graphiql.min.js"></script>
<script>
  const baseFetcher = GraphiQL.createFetcher({{ url: {endpoint} }});
  const picker = document.getElementById("party");
  // Development only: every request, the schema's introspection included, gets a fresh token
  // of the picked party from /dev/token (tokens are single use and short-lived); ""
  // leaves the header editor alone.
  async function fetcher(params, opts) {{
    const party = picker ? picker.value : "";
    if (!party) return baseFetcher(params, opts);
    const answer = await fetch("/dev/token?party=" + encodeURIComponent(party),
                               {{ cache: "no-store" }});
    const {{ token }} = await answer.json();
    const headers = {{ ...((opts && opts.headers) || {{}}), Authorization: "Bearer " + token }};
    return baseFetcher(params, {{ ...(opts || {{}}), headers }});
  }}
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  function render() {{
    root.render(React.createElement(GraphiQL, {{
      key: picker ? picker.value : "",  // another party: mount again, fetch the schema again
      fetcher,
      defaultQuery: {query},
      headers: {headers},
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }}));
  }}
  if (picker) picker.addEventListener("change", render);
  render();
</script>
</body>
</html>
"""

_PARTY_BAR = """<div id="party-bar">以哪一方身份查询 Ask as party:
<select id="party">{options}<option value="">(use the Authorization header below)</option>
</select><span>each request carries a fresh signed token of that party (development only)</span>
</div>
"""


def graphiql_html(
    endpoint: str = "/graphql", static: str = "/static", headers: dict[str, str] | None = None,
    parties: list[tuple[str, str]] | None = None,
) -> str:
    """The page; `headers` prefill the header editor. `parties` ((id, name), development
    only) adds a picker: each request then carries a fresh token of the picked party (GET
    /dev/token)."""
    bar = ""
    if parties:
        options = "".join(
            f'<option value="{html.escape(pid)}">{html.escape(name)} ({html.escape(pid)})'
            "</option>" for pid, name in parties)
        bar = _PARTY_BAR.format(options=options)
    return _PAGE.format(
        static=static,
        endpoint=json.dumps(endpoint),
        query=json.dumps(_DEFAULT_QUERY),
        headers=json.dumps(json.dumps(headers or {}, indent=2)),
        party_bar=bar,
    )
