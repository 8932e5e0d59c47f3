"""Benchmark: the hub against Hive Gateway over the same REST upstream, in one run (issue 11).

    .venv/bin/python bench/gateway.py [--duration 10] [--members 2000] [--workers 1] [--postgres]

`make bench` (bench/run.py) prints these rows too, in one table with the other aims; this
script alone runs just them, with any number of workers on either database.

Everything runs on 127.0.0.1, each server in its own process, the load from `wrk` (Debian's
package) one run after another, every process sharing the machine's cores:
- the upstream: the demo's Chengdu-style platform (蓉城先锋), 2,000 members;
- Hive Gateway 2.15 (npm, installed by this script into bench/peers/ with `npm ci`), one
  process, no auth, reading the upstream through bench/peers/chengdu.openapi.json;
- the hub as a user runs it: `yanxing serve` in production mode over the same platform alone,
  under the demo's signed contracts with the audit log on, every request carrying a fresh
  single-use party token (minted before each run: minting is the client's cost).
Rows: one member at c=32 and c=1, a 50-member page at c=32, each through the upstream
directly, Hive Gateway and the hub, with the hub/Hive ratios the issue sets as aims.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / "peers"
sys.path.insert(0, str(ROOT))

from hub.party_token import load_private_key, mint_token  # noqa: E402

#: single-use tokens minted per second of a hub run: above the hub's throughput, or requests
#: past them reuse a token and are refused (counted as bad, and reported)
TOKENS_PER_SECOND = 4000

# the fields the origin party is granted of the destination's records (成都—叙州 contract)
HUB_MEMBER = ('query($k: ID!) { member(key: $k) { phone status '
              'destination { address employer occupation } } }')
HUB_PAGE = ('{ members(first: 50) { nodes { phone status '
            'destination { address employer occupation } } } }')
HIVE_QUERY = ('query($ids: String) { members(ids: $ids) { data { items { mobile '
              'contactStatus address company job } } } }')

# wrk script: POST a GraphQL body per request, cycling through a file of bodies (one JSON
# document per line), each used once; counts answers that are not 200 or carry "errors".
WRK_LUA = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
local bodies, i = {}, 0
bad = 0
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
wrk.method = os.getenv("BENCH_METHOD") or "POST"
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
request = function()
  i = i + 1
  local line = bodies[((i - 1) % #bodies) + 1]
  if wrk.method == "GET" then return wrk.format("GET", line) end
  return wrk.format(nil, nil, nil, line)
end
response = function(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    bad = bad + 1
    if bad == 1 then io.write("FIRSTBAD " .. status .. " " .. string.sub(body, 1, 300) .. "\n") end
  end
end
done = function(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("bad") end
  io.write(string.format('BENCH {"requests": %d, "seconds": %f, "p50": %f, "p99": %f, ' ..
    '"errors": %d, "socket_errors": %d, "bad": %d}\n', summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, bad))
end
"""


@dataclass
class Result:
    rps: float
    p50: float
    p99: float
    bad: int
    #: CPU milliseconds the server's processes spent per request: unlike req/s, it hardly
    #: depends on what else the machine is running
    cpu_ms: float = 0.0

    def cells(self) -> str:
        flag = f"  ({self.bad} bad)" if self.bad else ""
        return (f"{self.rps:>8.0f} req/s  p50 {self.p50:>7.2f} ms  p99 {self.p99:>7.2f} ms  "
                f"CPU {self.cpu_ms:>6.2f} ms/req{flag}")


def _session_stats(session: int) -> list[list[str]]:
    """The /proc/<pid>/stat fields (from the state on) of every live process in `session` (a
    server started with start_new_session, its workers included)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[3]) == session:
            found.append(fields)
    return found


def session_cpu(session: int) -> float:
    """CPU seconds (user + system) of every live process in `session`."""
    ticks = sum(int(f[11]) + int(f[12]) for f in _session_stats(session))
    return ticks / os.sysconf("SC_CLK_TCK")


def session_rss(session: int) -> int:
    """Resident bytes of every live process in `session`, summed."""
    return sum(int(f[21]) for f in _session_stats(session)) * os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                        timeout=2):
                return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"bench: {url} did not come up within {timeout:.0f} s")


def wrk(url: str, lines: list[str], *, server: int, connections: int, duration: int, work: Path,
        method: str = "POST", auth: str = "", tokens: bool = False,
        tick: Callable[[], None] | None = None) -> Result:
    """One wrk run cycling through `lines` (a GET path or a POST body each; with `tokens`,
    each line is `token<TAB>body`, sent as that request's bearer token). `tick` is called
    about once a second while wrk runs (bench/run.py samples the server's memory with it)."""
    stamp = time.monotonic_ns()
    body_file = work / f"lines-{stamp}.txt"
    body_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    lua = WRK_LUA if not tokens else WRK_LUA.replace(
        "  return wrk.format(nil, nil, nil, line)",
        '  local tab = string.find(line, "\\t", 1, true)\n'
        '  return wrk.format(nil, nil, {["Content-Type"] = "application/json", '
        '["Authorization"] = "Bearer " .. string.sub(line, 1, tab - 1)}, '
        'string.sub(line, tab + 1))')
    script = work / f"bench-{stamp}.lua"
    script.write_text(lua, encoding="utf-8")
    env = {**os.environ, "BENCH_BODIES": str(body_file), "BENCH_METHOD": method,
           "BENCH_AUTH": auth}
    cpu = session_cpu(server)
    run = subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout",
                            "10s", "-s", str(script), url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    while True:
        try:
            stdout, stderr = run.communicate(timeout=None if tick is None else 1.0)
            break
        except subprocess.TimeoutExpired:
            assert tick is not None
            tick()
    cpu = session_cpu(server) - cpu
    body_file.unlink()
    if run.returncode:
        raise SystemExit(f"bench: wrk failed: {stderr or stdout}")
    for first_bad in (x for x in stdout.splitlines() if x.startswith("FIRSTBAD ")):
        print(f"bench: {url}: first bad answer: {first_bad[9:]}", file=sys.stderr)
    line = next(x for x in stdout.splitlines() if x.startswith("BENCH "))
    data = json.loads(line[len("BENCH "):])
    if tokens and data["requests"] > len(lines):
        print(f"bench: {data['requests']} requests but only {len(lines)} tokens: the replays "
              "were refused (counted as bad); raise TOKENS_PER_SECOND", file=sys.stderr)
    return Result(data["requests"] / data["seconds"], data["p50"], data["p99"],
                  data["bad"] + data["errors"] + data["socket_errors"],
                  cpu * 1000 / max(1, data["requests"]))


@contextmanager
def postgres_database() -> Iterator[str]:
    """A database of its own on 127.0.0.1 for this run (its name carries the pid, so two runs
    at once do not drop each other's), dropped afterwards."""
    import asyncio

    import asyncpg  # type: ignore[import-untyped]

    name = f"yanxing_bench_{os.getpid()}"

    async def run(statement: str) -> None:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    asyncio.run(run(f"CREATE DATABASE {name}"))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def ensure_peers() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("bench: wrk is missing; install it with `apt-get install -y wrk`")
    if not (PEERS / "node_modules" / ".bin" / "hive-gateway").exists():
        print("installing Hive Gateway into bench/peers (npm ci) ...", flush=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEERS,
                       check=True)


class World:
    """bench/_gateway_world.py in its own process (the demo's platform, the hub's configuration
    over it, the index synced), and the bench party's single-use tokens, minted here just
    before each run (none expires on a long run; minting is the client's cost, never timed)."""

    def __init__(self, directory: Path, members: int, database_url: str,
                 replay_cache: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "_gateway_world.py"), str(directory),
             str(members), database_url, replay_cache],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
            start_new_session=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.close()
            raise SystemExit("bench: the demo world did not start (see its output above)")
        self.info: dict[str, Any] = json.loads(line)
        self._mint = self.info["mint"]
        self._key = load_private_key(Path(self._mint["key"]))

    def tokens(self, n: int) -> list[str]:
        m = self._mint
        return [mint_token(m["party"], "bench-official", m["purpose"], self._key, m["kid"],
                           m["audience"], 600) for _ in range(n)]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)

    def __enter__(self) -> World:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def start_hive(upstream: str, token: str, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "UPSTREAM_URL": upstream, "CHENGDU_TOKEN": token}
    supergraph = work / "supergraph.graphql"
    subprocess.run([str(PEERS / "node_modules" / ".bin" / "mesh-compose"), "-o", str(supergraph)],
                   cwd=PEERS, env=env, check=True, capture_output=True)
    port = free_port()
    hive = subprocess.Popen(
        [str(PEERS / "node_modules" / ".bin" / "hive-gateway"), "supergraph", str(supergraph),
         "--port", str(port), "--host", "127.0.0.1"],
        cwd=PEERS, env={**env, "NODE_ENV": "production"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    wait_http(f"http://127.0.0.1:{port}/healthcheck")
    return hive, f"http://127.0.0.1:{port}/graphql"


def start_hub(world: World, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """`yanxing serve` as a user runs it, on this tree's code (`python -m hub` with the tree
    first on the path: the console script would import whatever tree is installed)."""
    config, port = world.info["config"], free_port()
    args = [sys.executable, "-m", "hub", "serve", "--config", config, "--port", str(port)]
    if workers > 1:
        args += ["--workers", str(workers)]
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    hub = subprocess.Popen(args, cwd=Path(config).parent,
                           env={**os.environ, **world.info["env"], "PYTHONPATH": path},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    wait_http(f"http://127.0.0.1:{port}/healthz")
    return hub, f"http://127.0.0.1:{port}/graphql"


def stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def visible_pairs(world: World, hub_url: str) -> list[tuple[str, str]]:
    """The (Chengdu local id, member key) pairs whose member the bench party may read (at
    least 50: a page)."""
    query = '{ members(first: 100) { nodes { key } } }'
    body = json.dumps({"query": query}).encode()
    request = urllib.request.Request(hub_url, body, {
        "Content-Type": "application/json", "Authorization": f"Bearer {world.tokens(1)[0]}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        nodes = json.load(answer)["data"]["members"]["nodes"]
    seen = {n["key"] for n in nodes if n}
    pairs = [(local, key) for local, key in world.info["pairs"] if key in seen]
    if len(pairs) < 50:
        raise SystemExit(f"bench: the party sees only {len(pairs)} of the first 100 members")
    return pairs


#: the rows of the table: label, connections, a 50-member page (else one member)
ROWS = (("one member, c=32", 32, False), ("one member, c=1", 1, False),
        ("50-member page, c=32", 32, True))


def run_rows(world: World, pairs: list[tuple[str, str]], hive_url: str, hub_url: str,
             sessions: dict[str, int], duration: int,
             work: Path) -> dict[str, dict[str, Result]]:
    """Each row of ROWS through the upstream directly, Hive Gateway and the hub, over the
    members of `pairs` (visible_pairs)."""
    info = world.info
    auth = f"Bearer {info['upstream_token']}"
    upstream = info["upstream"].rstrip("/") + "/api/v1/members"
    path = "/api/v1/members?ids="

    rows: dict[str, dict[str, Result]] = {}
    member_vars = [{"k": key} for _, key in pairs]
    # the hub's page is the party's first 50 members; the peers are asked for the same 50
    page_ids = [p[0] for p in pairs[:50]]
    for label, connections, page in ROWS:
        ids = [",".join(page_ids)] if page else [local for local, _ in pairs]
        row = {
            "upstream": wrk(upstream, [path + i for i in ids], server=sessions["upstream"],
                            connections=connections,
                            duration=duration, work=work, method="GET", auth=auth),
            "hive": wrk(hive_url, [json.dumps({"query": HIVE_QUERY, "variables": {"ids": i}})
                                   for i in ids], server=sessions["hive"],
                        connections=connections, duration=duration, work=work),
        }
        query, variables = (HUB_PAGE, [{}]) if page else (HUB_MEMBER, member_vars)
        row["hub"] = hub_run(world, hub_url, query, variables, sessions["hub"], connections,
                             duration, work)
        rows[label] = row
    return rows


def hub_run(world: World, url: str, query: str, variables: list[dict], server: int,
            connections: int, duration: int, work: Path, *, rate: float = TOKENS_PER_SECOND,
            tick: Callable[[], None] | None = None) -> Result:
    """wrk against the hub, a fresh single-use token per request: `rate` tokens per second
    of the run (above the hub's throughput: a request past them reuses one and is refused)."""
    lines = [f"{token}\t" + json.dumps({"query": query, "variables": variables[i % len(variables)]})
             for i, token in enumerate(world.tokens(int(rate * duration)))]
    return wrk(url, lines, server=server, connections=connections, duration=duration,
               work=work, tokens=True, tick=tick)


def table_lines(rows: dict[str, dict[str, Result]]) -> list[str]:
    """Each row's upstream, Hive and hub cells with the hub/Hive ratios."""
    lines = []
    for label, row in rows.items():
        lines.append(label)
        for name in ("upstream", "hive", "hub"):
            lines.append(f"  {name:<9}{row[name].cells()}")
        hub, hive = row["hub"], row["hive"]
        lines.append(
            f"  hub/Hive: throughput {hub.rps / hive.rps:.2f}x, p50 {hub.p50 / hive.p50:.2f}x, "
            f"p99 {hub.p99 / hive.p99:.2f}x, CPU per request {hub.cpu_ms / hive.cpu_ms:.2f}x;"
            f"  hub p50 - upstream p50: {hub.p50 - row['upstream'].p50:+.2f} ms")
        lines.append("")
    return lines


@contextmanager
def servers(work: Path, members: int, database_url: str, replay_cache: str, *,
            hive: bool = True) -> Iterator[tuple[World, dict[str, str], dict[str, int]]]:
    """The world, Hive Gateway (unless not `hive`) over its upstream: (world, urls, sessions)
    by name. The hub is started by the caller (start_hub), once or several times."""
    with World(work / "world", members, database_url, replay_cache) as world:
        urls, sessions = {"upstream": world.info["upstream"]}, {"upstream": world.process.pid}
        hive_process = None
        if hive:
            ensure_peers()
            hive_process, urls["hive"] = start_hive(world.info["upstream"],
                                                    world.info["upstream_token"], work)
            sessions["hive"] = hive_process.pid
        try:
            yield world, urls, sessions
        finally:
            if hive_process is not None:
                stop(hive_process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="hub worker processes")
    parser.add_argument("--postgres", action="store_true",
                        help="index on PostgreSQL (a database of its own on 127.0.0.1, "
                        "dropped afterwards) instead of SQLite")
    args = parser.parse_args()
    with ExitStack() as stack:
        database_url = (stack.enter_context(postgres_database()) if args.postgres
                        else "sqlite+aiosqlite:///hub.db")
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        # one process: in memory, as the demo; several: one every worker sees
        world, urls, sessions = stack.enter_context(servers(
            work, args.members, database_url, "memory" if args.workers == 1 else "database"))
        hub, hub_url = start_hub(world, args.workers)
        try:
            rows = run_rows(world, visible_pairs(world, hub_url), urls["hive"], hub_url,
                            {**sessions, "hub": hub.pid}, args.duration, work)
        finally:
            stop(hub)
    store = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\nhub vs Hive Gateway 2.15 over the same REST upstream ({args.members} members, "
          f"wrk -t1, {args.duration} s per run, hub: {args.workers} worker(s) on {store})\n")
    print("\n".join(table_lines(rows)))


if __name__ == "__main__":
    main()
