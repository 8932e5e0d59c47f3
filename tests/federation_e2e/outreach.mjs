// A second subgraph, as a front-end team would own one: it extends the hub's Member entity by
// its key with a field of its own (a volunteer-outreach note), and knows nothing else of it.
import { createServer } from "node:http";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { graphql, parse } from "graphql";

export const OUTREACH_TYPE_DEFS = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

  type Member @key(fields: "key") {
    key: ID!
    outreachNote: String
  }

  type Query {
    outreachVersion: String
  }
`);

const resolvers = {
  Query: { outreachVersion: () => "1" },
  Member: {
    __resolveReference: (ref) => ({ key: ref.key }),
    outreachNote: (member) => `outreach for ${member.key.slice(0, 6)}`,
  },
};

export const OUTREACH_SCHEMA = buildSubgraphSchema({ typeDefs: OUTREACH_TYPE_DEFS, resolvers });

// Serve it on 127.0.0.1 (port 0: any free one); resolves to its URL.
export function serveOutreach() {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => { body += chunk; });
    req.on("end", async () => {
      const { query, variables, operationName } = JSON.parse(body || "{}");
      const result = await graphql({ schema: OUTREACH_SCHEMA, source: query,
                                     variableValues: variables, operationName });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(result));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({ server, url: `http://127.0.0.1:${server.address().port}/graphql` });
    });
  });
}
