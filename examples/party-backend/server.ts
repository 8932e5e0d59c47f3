// A party's backend for a browser app on the Yanxing hub (docs/frontend.md).
//
// The browser talks only to this server (its own origin, its own session); this server holds
// the party's Ed25519 private key and signs a fresh single-use token for every request it
// sends to the hub, retries after Retry-After on 429/503, and passes typed errors on.
// The key never reaches the browser, and neither does a token.
//
// Node 20+, no dependencies: `npx tsc server.ts && node server.js` (or `npx tsx server.ts`).
// Environment: HUB_URL, PARTY, KID, AUDIENCE, PURPOSE, KEY_FILE (PEM, PKCS#8), PORT.

import { createServer, IncomingMessage, ServerResponse } from "node:http";
import { createPrivateKey, randomBytes, sign, KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";

const HUB_URL = process.env.HUB_URL ?? "http://127.0.0.1:8000";
const PARTY = process.env.PARTY ?? "chengdu-rcxf-operator";
const KID = process.env.KID ?? `${PARTY}-1`;
const AUDIENCE = process.env.AUDIENCE ?? "yanxing-hub";
const PURPOSE = process.env.PURPOSE ?? "co-management";
const KEY: KeyObject = createPrivateKey(readFileSync(process.env.KEY_FILE ?? "party.key.pem"));

const b64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url");

/** RFC 8785 for what a token holds (flat objects of strings and integers): sorted keys. */
function canonical(value: Record<string, string | number>): string {
  const keys = Object.keys(value).sort();
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + JSON.stringify(value[k])).join(",") + "}";
}

/** A fresh single-use request token (hub.party_token's format), signed with the party's key. */
function token(user: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = canonical({ alg: "EdDSA", iat: now, kid: KID, typ: "yanxing-request+jwt" });
  const claims = canonical({
    aud: AUDIENCE, exp: now + 60, iat: now, iss: PARTY,
    jti: randomBytes(16).toString("base64url"), purpose: PURPOSE, sub: user,
  });
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${b64url(sign(null, Buffer.from(input, "ascii"), KEY))}`;
}

interface GraphQLError { message: string; extensions?: { code?: string; reason?: string } }
interface Answer { data?: unknown; errors?: GraphQLError[] }

class HubError extends Error {
  constructor(readonly code: string, message: string, readonly status: number,
              readonly retryAfter: number | null) {
    super(`${code}: ${message}`);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One query, a fresh token per attempt; 429/503 waited out (Retry-After or backoff+jitter). */
async function ask(query: string, variables: object, user: string, attempts = 4): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`${HUB_URL}/graphql`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token(user)}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as Answer;
    if (body.data && response.ok) return body; // partial answers too: body.errors says what
    const error = body.errors?.[0];
    const code = error?.extensions?.code ?? `HTTP_${response.status}`;
    const retryAfter = Number(response.headers.get("Retry-After") ?? "NaN");
    const retryable = code === "RATE_LIMITED" || code === "OVERLOADED";
    if (!retryable || attempt + 1 >= attempts) {
      throw new HubError(code, error?.message ?? "", response.status,
                         Number.isFinite(retryAfter) ? retryAfter : null);
    }
    const backoff = Math.random() * Math.min(10, 0.2 * 2 ** attempt);
    await sleep(1000 * Math.max(Number.isFinite(retryAfter) ? retryAfter : 0, backoff));
  }
}

const MEMBERS = `query Members($after: String) {
  members(first: 20, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { key name status destination { employer } }
  }
}`;

function reply(res: ServerResponse, status: number, body: unknown, headers: object = {}): void {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

createServer(async (req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/") {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(readFileSync(new URL("./index.html", import.meta.url)));
    return;
  }
  if (url.pathname !== "/api/members") return reply(res, 404, { code: "NOT_FOUND" });
  // the official behind this request, from this backend's own session (here: a header)
  const user = String(req.headers["x-official"] ?? "official-1");
  try {
    const answer = await ask(MEMBERS, { after: url.searchParams.get("after") }, user);
    reply(res, 200, answer);
  } catch (error) {
    if (!(error instanceof HubError)) return reply(res, 502, { code: "HUB_UNREACHABLE" });
    const status = error.code === "CONTRACT_DENIED" ? 403
      : error.code === "RATE_LIMITED" || error.code === "OVERLOADED" ? 503 : 502;
    reply(res, status, { code: error.code, message: error.message },
          error.retryAfter ? { "Retry-After": String(Math.ceil(error.retryAfter)) } : {});
  }
}).listen(Number(process.env.PORT ?? 3000), "127.0.0.1");
