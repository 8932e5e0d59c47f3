// An Apollo gateway over the hub and the outreach subgraph, offline: the supergraph is composed
// here from the hub's `_service { sdl }` (no IntrospectAndCompose, no Apollo cloud), and the
// caller's Authorization header is forwarded to every subgraph (willSendRequest), which is
// what a router must do for the hub to know the party (docs/federation.md).
//
// Usage: node gateway.mjs HUB_URL HUB_SDL_FILE OPERATION_JSON_FILE
//   the operation file: {"query": ..., "variables": ..., "authorization": "Bearer ..." | null}
// Prints the gateway's response body as JSON.
import { readFileSync } from "node:fs";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { compose } from "./compose.mjs";
import { serveOutreach } from "./outreach.mjs";

class ForwardingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (context.authorization) {
      request.http.headers.set("authorization", context.authorization);
    }
  }
}

const [hubUrl, sdlFile, operationFile] = process.argv.slice(2);
const operation = JSON.parse(readFileSync(operationFile, "utf8"));
const outreach = await serveOutreach();
const composed = compose(readFileSync(sdlFile, "utf8"), hubUrl, outreach.url);
if (composed.errors) {
  console.log(JSON.stringify({ compositionErrors: composed.errors.map((e) => e.message) }));
  process.exit(1);
}
const gateway = new ApolloGateway({
  supergraphSdl: composed.supergraphSdl,
  buildService: ({ url }) => new ForwardingDataSource({ url }),
});
const server = new ApolloServer({ gateway, includeStacktraceInErrorResponses: false });
await server.start();
try {
  const response = await server.executeOperation(
    { query: operation.query, variables: operation.variables },
    { contextValue: { authorization: operation.authorization } },
  );
  console.log(JSON.stringify(response.body.singleResult));
} finally {
  await server.stop();
  outreach.server.close();
}
