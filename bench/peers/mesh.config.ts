// Composes the supergraph Hive Gateway serves in bench/gateway.py: the simulated Chengdu
// platform's REST API, read through its OpenAPI description. The endpoint and the bearer
// token come from the environment the benchmark sets (UPSTREAM_URL, CHENGDU_TOKEN).
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('Chengdu', {
        source: './chengdu.openapi.json',
        endpoint: process.env.UPSTREAM_URL,
        operationHeaders: { Authorization: `Bearer ${process.env.CHENGDU_TOKEN}` },
      }),
    },
  ],
});
