// Compose the hub's subgraph SDL with the second subgraph (outreach.mjs) into a supergraph.
// Usage: node compose.mjs HUB_SDL_FILE [OUT_SUPERGRAPH_FILE]
// Prints {"errors": [...], "hints": [...]} and exits 1 on composition errors.
import { readFileSync, writeFileSync } from "node:fs";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { OUTREACH_TYPE_DEFS } from "./outreach.mjs";

export function compose(hubSdl, hubUrl = "http://127.0.0.1:0/graphql",
                        outreachUrl = "http://127.0.0.1:0/graphql") {
  return composeServices([
    { name: "hub", url: hubUrl, typeDefs: parse(hubSdl) },
    { name: "outreach", url: outreachUrl, typeDefs: OUTREACH_TYPE_DEFS },
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = compose(readFileSync(process.argv[2], "utf8"));
  const report = {
    errors: (result.errors || []).map((e) => `${e.extensions?.code}: ${e.message}`),
    hints: (result.hints || []).map((h) => `${h.definition.code}: ${h.message}`),
  };
  if (!result.errors && process.argv[3]) writeFileSync(process.argv[3], result.supergraphSdl);
  console.log(JSON.stringify(report));
  process.exit(result.errors ? 1 : 0);
}
