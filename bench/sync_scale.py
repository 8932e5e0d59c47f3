"""Sync at province scale (issue 11): 250,000 members from one REST platform and from one
XLSX ledger, into SQLite and PostgreSQL.

    .venv/bin/python bench/sync_scale.py [--members 250000] [--postgres] [--sources rest,xlsx]

For each source, in one run: the time to read it alone (its connector paging through every
record, nothing stored) and the time of `yanxing sync` into a fresh SQLite file (and, with
--postgres, into a fresh database `yanxing_sync_bench` on 127.0.0.1, dropped and created for
each sync), each in its own process so its CPU time and peak RSS are its own (wait4). The
platform runs in a process of its own too (bench/_province.py). After each sync the index is
counted: every record must be linked or kept unlinked, so speed never comes from lost rows.

Aims: each sync at most 30 s and 1 GB, and at most 3x the time to read the source alone.
CPU time per member is the steadier figure on a shared machine; wall time moves with the load.
The province's data is generated once per (members, seed) into --cache.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "yanxing_sync_bench"
PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"


def _use_database(name: str) -> None:
    """Sync into PostgreSQL database `name` (--pg-database: two runs at once need two)."""
    global PG_DB, PG_URL
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"--pg-database: {name!r} is not a plain database name")
    PG_DB, PG_URL = name, f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
MAX_SECONDS, MAX_MB, MAX_RATIO = 30.0, 1024.0, 3.0
SOURCE_NAMES = {"rest": "chengdu", "xlsx": "village_ledger"}
SIDES = {"rest": "destination", "xlsx": "origin"}


@dataclass(frozen=True, slots=True)
class Run:
    """One child process: wall seconds, CPU seconds (user + system), peak RSS in MB, and its
    I/O (/proc's write_bytes: to the disk; wchar/syscw: write calls, rchar: read calls)."""

    wall: float
    cpu: float
    rss_mb: float
    output: str
    io: dict[str, int]
    sys_cpu: float = 0.0


def _io() -> dict[str, int]:
    """This process's I/O counters, which include its reaped children's (the kernel adds a
    child's to its parent's when wait4 reaps it): a child's own is the difference."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:  # not Linux
        return {}
    return {k: int(v) for k, v in (line.split(": ") for line in text.splitlines())}


def _run(argv: list[str], env: dict[str, str], log: Path) -> Run:
    """Run `argv`, its output into `log`; measured with wait4 so the figures are its own."""
    with log.open("w+", encoding="utf-8") as out:
        before = _io()
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        after = _io()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} exited {proc.returncode}:\n{text[-3000:]}")
    io = {k: after[k] - before.get(k, 0) for k in after}
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text, io,
               usage.ru_stime)


# ---- the province's data, cached ------------------------------------------------------------

def _prepare(cache: Path, members: int, seed: int) -> tuple[Path, Path]:
    """members.jsonl (the platform's rows) and ledger.xlsx, written once per (members, seed),
    in two processes at once."""
    from bench import _province

    directory = cache / f"{members}-{seed}"
    directory.mkdir(parents=True, exist_ok=True)
    jsonl, xlsx = directory / "members.jsonl", directory / "ledger.xlsx"
    jobs = []
    for path, writer in ((jsonl, "write_members_jsonl"), (xlsx, "write_ledger_xlsx")):
        if path.exists():
            continue
        print(f"writing {path} ({members} members) ...", flush=True)
        code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from bench import _province; "
                f"_province.{writer}({members}, {seed}, __import__('pathlib').Path({str(path)!r}))")
        jobs.append(subprocess.Popen([sys.executable, "-c", code], cwd=ROOT))
    for job in jobs:
        if job.wait() != 0:
            raise SystemExit("writing the province's data failed")
    del _province
    return jsonl, xlsx


def _expected_members(members: int) -> int:
    """Rows with a valid ID number (one in a thousand has its check digit corrupted)."""
    from hub.demo.generator import DEFECT_AT
    from hub.demo.model import Defect

    bad = [p for p, d in DEFECT_AT.items() if d is Defect.INVALID_ID_NUMBER]
    return members - sum(1 for n in range(1, members + 1) if n % 1000 in bad)


# ---- configuration ------------------------------------------------------------------------

def _write_configs(work: Path, database_url: str) -> dict[str, Path]:
    """One yanxing.toml per source: the Chengdu mapping trimmed to its members, and the
    village ledger's mapping as shipped (its file from $YONGSHUI_LEDGER)."""
    chengdu = (ROOT / "hub/demo/mappings/chengdu.toml").read_text(encoding="utf-8")
    members_only = chengdu.split("\n[entities.organization]")[0]
    assert "[entities.member]" in members_only and "[entities.activity]" not in members_only
    (work / "chengdu_members.toml").write_text(members_only, encoding="utf-8")
    mappings = {"rest": work / "chengdu_members.toml",
                "xlsx": ROOT / "hub/demo/mappings/village_ledger.toml"}
    configs = {}
    for kind, mapping in mappings.items():
        config = work / f"{kind}.toml"
        config.write_text(
            f'[hub]\ndatabase_url = "{database_url}"\nsecret = "${{YANXING_SECRET}}"\n\n'
            f'[[sources]]\nmapping = "{mapping}"\nowner = "bench-{kind}"\n',
            encoding="utf-8",
        )
        configs[kind] = config
    return configs


# ---- the read-alone child -------------------------------------------------------------------

async def _read_alone(config: Path) -> None:
    """Page through every member the way sync does (same connector, same page size), keep
    nothing; print how many records and issues came."""
    from connectors.base import ReadRequest
    from connectors.factory import open_connector
    from hub.settings import load_settings

    settings = load_settings(config)
    (source,) = settings.sources
    connector = open_connector(source.mapping)
    records = issues = 0
    cursor: str | None = None
    try:
        while True:
            result = await connector.read(ReadRequest(
                entity="member", cursor=cursor, page_size=settings.limits.sync_page_size))
            records += sum(1 for r in result.records if r is not None)
            issues += len(result.issues)
            cursor = result.next_cursor
            if cursor is None:
                break
    finally:
        await connector.aclose()
    print(json.dumps({"records": records, "issues": issues}))


# ---- databases ------------------------------------------------------------------------------

async def _recreate_postgres(*, create: bool = True) -> None:
    """Drop the bench's own database (never the shared `test` one) and create it again."""
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        if create:
            await conn.execute(f"CREATE DATABASE {PG_DB}")
    finally:
        await conn.close()


async def _count(database_url: str, source: str) -> tuple[int, int, int]:
    """(links of `source`, linked ones, member rows) in the index."""
    from sqlalchemy import func, select

    from hub.store.models import MemberRow, SourceLinkRow
    from hub.store.session import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            links = (await conn.execute(
                select(func.count()).select_from(SourceLinkRow)
                .where(SourceLinkRow.source == source, SourceLinkRow.entity == "member")
            )).scalar_one()
            linked = (await conn.execute(
                select(func.count()).select_from(SourceLinkRow)
                .where(SourceLinkRow.source == source, SourceLinkRow.member_key.is_not(None))
            )).scalar_one()
            members = (await conn.execute(select(func.count()).select_from(MemberRow))).scalar_one()
        return int(links), int(linked), int(members)
    finally:
        await engine.dispose()


# ---- the run --------------------------------------------------------------------------------

def _start_platform(jsonl: Path, token: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/_province.py"), "serve", str(jsonl)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "YANXING_BENCH_TOKEN": token, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("the platform did not start")
    return proc, json.loads(line)["url"]


def _row(cells: list[str], widths: list[int]) -> str:
    return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=250_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", action="store_true",
                        help=f"also sync into PostgreSQL ({PG_DB} on 127.0.0.1, recreated)")
    parser.add_argument("--sources", default="rest,xlsx", help="rest, xlsx or both")
    parser.add_argument("--pg-database", default=PG_DB,
                        help="the database --postgres drops and creates for each sync")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "yanxing-sync-scale")
    parser.add_argument("--read-alone", type=Path, help=argparse.SUPPRESS)  # the child
    args = parser.parse_args()
    if args.read_alone is not None:
        asyncio.run(_read_alone(args.read_alone))
        return
    _use_database(args.pg_database)
    kinds = [k.strip() for k in args.sources.split(",") if k.strip()]
    if not kinds or any(k not in SOURCE_NAMES for k in kinds):
        parser.error("--sources: rest, xlsx or rest,xlsx")
    n = args.members
    jsonl, xlsx = _prepare(args.cache, n, args.seed)
    expected_linked = _expected_members(n)
    token = secrets.token_urlsafe(24)
    platform, url = _start_platform(jsonl, token) if "rest" in kinds else (None, "")
    results: list[list[str]] = []
    lost: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="sync-scale-") as tmp:
            work = Path(tmp)
            env = {**os.environ, "YANXING_SECRET": "bench-secret-" + "s" * 40,
                   "CHENGDU_URL": url, "CHENGDU_TOKEN": token, "YONGSHUI_LEDGER": str(xlsx),
                   "PYTHONPATH": str(ROOT)}
            targets = [("SQLite", f"sqlite+aiosqlite:///{work}/index.db")]
            if args.postgres:
                targets.append(("PostgreSQL", PG_URL))
            for kind in kinds:
                read_config = _write_configs(work, targets[0][1])[kind]
                read = _run([sys.executable, __file__, "--read-alone", str(read_config)], env,
                            work / f"read-{kind}.log")
                got = json.loads(read.output.strip().splitlines()[-1])["records"]
                print(f"read {kind}: {got} records in {read.wall:.1f} s "
                      f"(CPU {read.cpu:.1f} s, {read.rss_mb:.0f} MB)", flush=True)
                if got != n:
                    lost.append(f"read {kind}: {got} of {n} records")
                for target, database_url in targets:
                    if target == "SQLite":
                        (work / "index.db").unlink(missing_ok=True)
                    else:
                        asyncio.run(_recreate_postgres())
                    config = _write_configs(work, database_url)[kind]
                    sync = _run([str(BIN / "yanxing"), "sync", "--config", str(config)], env,
                                work / f"sync-{kind}-{target}.log")
                    links, linked, members = asyncio.run(_count(database_url, SOURCE_NAMES[kind]))
                    print(f"sync {kind} -> {target}: {sync.wall:.1f} s (CPU {sync.cpu:.1f} s, "
                          f"{sync.rss_mb:.0f} MB); index: {links} links, {linked} linked, "
                          f"{members} members", flush=True)
                    if sync.io:
                        print(f"  I/O: {sync.io['write_bytes'] / 1e6:.0f} MB written to disk, "
                              f"{sync.io['wchar'] / 1e6:.0f} MB in {sync.io['syscw']:,} write "
                              f"calls, {sync.io['rchar'] / 1e6:.0f} MB in {sync.io['syscr']:,} "
                              f"read calls; CPU {sync.cpu - sync.sys_cpu:.1f} s user, "
                              f"{sync.sys_cpu:.1f} s system", flush=True)
                    if (links, linked, members) != (n, expected_linked, expected_linked):
                        lost.append(f"{kind} -> {target}: {links} links, {linked} linked, "
                                    f"{members} members; expected {n}, {expected_linked}, "
                                    f"{expected_linked}")
                    ratio = sync.wall / read.wall
                    met = (sync.wall <= MAX_SECONDS, sync.rss_mb <= MAX_MB, ratio <= MAX_RATIO)
                    results.append([
                        f"{kind} ({SOURCE_NAMES[kind]})", target, f"{n:,}",
                        f"{read.wall:.1f}", f"{read.cpu:.1f}", f"{sync.wall:.1f}",
                        f"{sync.cpu:.1f}", f"{sync.cpu / n * 1e6:.0f}", f"{sync.rss_mb:.0f}",
                        f"{ratio:.2f}", f"{sync.cpu / read.cpu:.2f}",
                        " ".join(("yes" if ok else "NO") for ok in met),
                    ])
            if args.postgres:
                asyncio.run(_recreate_postgres(create=False))
    finally:
        if platform is not None:
            assert platform.stdin is not None
            platform.stdin.close()
            platform.wait(timeout=30)
    header = ["source", "index", "members", "read s", "read CPU s", "sync s", "sync CPU s",
              "CPU µs/member", "peak RSS MB", "sync/read", "CPU sync/read",
              "<=30 s, <=1 GB, <=3x"]
    widths = [max(len(r[i]) for r in [header, *results]) for i in range(len(header))]
    print()
    print(_row(header, widths))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for result in results:
        print(_row(result, widths))
    if lost:
        print("\nROWS LOST:\n" + "\n".join(lost))
        raise SystemExit(1)
    print(f"\nindex checked: every record kept ({expected_linked:,} linked members, "
          f"{n - expected_linked:,} unlinked with an invalid ID number)")


if __name__ == "__main__":
    main()
