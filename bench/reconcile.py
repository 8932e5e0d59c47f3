"""Benchmark: two-way reconciliation of two ledger files, against a bare read-and-join baseline.

    .venv/bin/python bench/reconcile.py [--rows 250000] [--rows 1000000] [--keep DIR]

For each size, two CSV ledgers are generated with the demo generator's people and consistency
rules (hub/demo/generator.py: homophone names, stale statuses, new phones): about 80 % of the
people on both sides, 10 % only at the origin, 10 % only at the destination, and 2 % of the rows
without a valid ID number (a wrong check digit). The origin's file is GBK, the destination's
UTF-8, as village and city ledgers are. Then, each in its own process (so peak RSS is its own):

- full: the reconciliation end to end from the files: both files read through the ledger
  reader and their mappings, keyed hashes, scope, exact join, candidate matching, categories,
  every row of the report built, the document digested and signed, and the run's rows and
  report stored (SQLite, Parquet blocks: hub.reconcile.store.finish_run);
- baseline: the two CSV files read into polars, the keyed hash of each ID number computed the
  plainest way (one `hmac.new` per row), and a bare inner join on it.

Prints the wall and CPU time (on a shared machine CPU time is the steadier figure) and peak RSS
of each, the full/baseline ratio, and the candidate stage's share
of the full run. Aims (issue 9): 1M x 1M in at most 20 s and 2 GB, at most 3x the baseline,
candidate matching at most 25 % of the total. Figures are measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import hmac
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = b"bench-reconcile-secret-0123456789abcdef"
HEADER = ["编号", "姓名", "身份证号码", "性别", "出生日期", "联系电话", "联系状态", "流出地",
          "流入地", "党组织编码"]
MAPPING = """
[source]
name = "{name}"
kind = "ledger"
side = "{side}"

[connection]
file = "x.csv"
format = "csv"
encoding = "{encoding}"

[entities.member]
local_id = "编号"
required = ["id_number", "name"]

[entities.member.fields]
name = "姓名"
id_number = "身份证号码"
gender = "性别"
birth_date = "出生日期"
phone = "联系电话"
status = "联系状态"
origin_region_code = "流出地"
destination_region_code = "流入地"
origin_org_id = "党组织编码"
"""
_STATUS = {"in_contact": "正常联系", "lost_contact": "失联", "returned": "已返乡",
           "transferred_out": "已转出"}


def _spoil(id_number: str) -> str:
    last = id_number[-1]
    return id_number[:-1] + ("0" if last != "0" else "1")


def generate(rows: int, directory: Path, seed: int = 11) -> tuple[Path, Path]:
    """Two ledgers of about `rows` rows each (not timed)."""
    from hub.demo.generator import generate_world

    origin_path = directory / f"origin-{rows}.csv"
    destination_path = directory / f"destination-{rows}.csv"
    if origin_path.exists() and destination_path.exists():
        return origin_path, destination_path
    people = round(rows / 0.9)
    world = generate_world(people, seed=seed)
    with open(origin_path, "w", encoding="gbk", newline="") as o_file, \
            open(destination_path, "w", encoding="utf-8", newline="") as d_file:
        o_out, d_out = csv.writer(o_file), csv.writer(d_file)
        o_out.writerow(HEADER)
        d_out.writerow(HEADER)
        for p in world.members():
            bucket = p.index % 20  # 0, 1: origin only; 2, 3: destination only; else both
            birth = p.birth_date.isoformat()
            gender = "男" if p.gender == "male" else "女"
            if bucket not in (2, 3):
                ident = _spoil(p.id_number) if p.index % 50 == 7 else p.id_number
                o_out.writerow([f"O{p.index:08d}", p.name, ident, gender, birth, p.origin_phone,
                                _STATUS[p.status], p.origin_region_code,
                                p.destination_region_code, p.origin_org_id])
            if bucket not in (0, 1):
                ident = _spoil(p.id_number) if p.index % 50 == 33 else p.id_number
                d_out.writerow([f"D{p.index:08d}", p.destination_name, ident, gender, birth,
                                p.phone, _STATUS[p.destination_status], "",
                                p.destination_region_code, ""])
    return origin_path, destination_path


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_full(origin: Path, destination: Path) -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hub.model import Side
    from hub.reconcile.inputs import ledger_mapping, read_ledger_file
    from hub.reconcile.matching import Parameters, RowScope
    from hub.reconcile.service import compute
    from hub.reconcile.store import create_run, finish_run
    from hub.reconcile.timing import Stopwatch
    from hub.store.session import create_engine, create_session_factory, init_db

    async def run(database: Path) -> dict[str, Any]:
        # the database is made (migrations) and the run created before the clock starts
        engine = create_engine(f"sqlite+aiosqlite:///{database}")
        await init_db(engine)
        sessions = create_session_factory(engine)
        run_id = await create_run(sessions, contract_id="bench", contract_digest="",
                                  origin_party="origin", destination_party="destination",
                                  period="2026Q3", scope=RowScope().as_json(),
                                  started_by="bench", user=None)
        cpu = time.process_time()
        started = time.perf_counter()
        ledgers = [await read_ledger_file(origin, ledger_mapping(MAPPING.format(
            name="origin", side="origin", encoding="gbk"), origin), side=Side.ORIGIN,
            secret=SECRET, owners=frozenset({"origin"}))]
        read_origin = time.perf_counter() - started
        ledgers.append(await read_ledger_file(destination, ledger_mapping(MAPPING.format(
            name="destination", side="destination", encoding="utf-8"), destination),
            side=Side.DESTINATION, secret=SECRET, owners=frozenset({"destination"})))
        read = time.perf_counter() - started
        # handed over as the GraphQL job does (hub.reconcile.service.run_job), so compute
        # frees the records once matched
        result = await compute(ledgers.pop(0), ledgers.pop(0), Parameters(
            "2026Q3", RowScope()), run_id=run_id, contract={"id": "bench", "digest": ""},
            decisions={}, hub_key=Ed25519PrivateKey.generate(), hub_kid="hub-1")
        o, d = result.origin, result.destination
        watch = Stopwatch()
        assert result.envelope is not None
        await finish_run(sessions, run_id, document=result.document,
                         envelope=result.envelope, rows=result.rows)
        watch.lap("persist")
        total = time.perf_counter() - started
        result.outcome.seconds.update(watch.wall)
        result.outcome.cpu_seconds.update(watch.cpu)
        await engine.dispose()
        return {"seconds": total, "cpu_seconds": time.process_time() - cpu,
                "read_seconds": read, "read_origin_seconds": read_origin,
                "read_stages": {"origin": dict(o.seconds), "destination": dict(d.seconds)},
                "read_cpu": {"origin": dict(o.cpu_seconds),
                             "destination": dict(d.cpu_seconds)},
                "stages": result.outcome.seconds, "cpu": result.outcome.cpu_seconds,
                "counts": result.document["counts"],
                "rows": [o.size, d.size]}

    with tempfile.TemporaryDirectory(prefix="yanxing-bench-db-") as tmp:
        out = asyncio.run(run(Path(tmp) / "hub.db"))
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def measure_baseline(origin: Path, destination: Path) -> dict[str, Any]:
    import polars as pl

    cpu = time.process_time()
    started = time.perf_counter()
    o = pl.read_csv(origin, encoding="gbk", infer_schema=False)
    d = pl.read_csv(destination, infer_schema=False)
    read = time.perf_counter() - started

    def keyed(frame: pl.DataFrame) -> pl.DataFrame:
        ids = frame["身份证号码"].to_list()
        return frame.with_columns(pl.Series("key", [
            hmac.new(SECRET, i.encode(), hashlib.sha256).hexdigest() for i in ids]))

    joined = keyed(o).join(keyed(d), on="key", how="inner")
    return {"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
            "read_seconds": read,
            "joined": joined.height, "peak_rss_mb": _peak_rss_mb()}


def _in_process(kind: str, origin: Path, destination: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--measure", kind, str(origin),
                          str(destination)], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _stages(wall: dict[str, float], cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.2f} ({cpu.get(name, 0.0):.2f})"
                     for name, value in wall.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, action="append",
                        help="rows per ledger (repeatable; default 250000)")
    parser.add_argument("--keep", type=Path, help="keep the generated files in this directory")
    parser.add_argument("--measure", nargs=3, metavar=("KIND", "ORIGIN", "DESTINATION"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        kind, origin, destination = args.measure
        measure = measure_full if kind == "full" else measure_baseline
        print(json.dumps(measure(Path(origin), Path(destination)), ensure_ascii=False))
        return
    with tempfile.TemporaryDirectory(prefix="yanxing-bench-") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        for rows in args.rows or [250_000]:
            t0 = time.perf_counter()
            origin, destination = generate(rows, directory)
            sizes = [p.stat().st_size / 1e6 for p in (origin, destination)]
            print(f"\n{rows:,} x {rows:,}: generated in {time.perf_counter() - t0:.1f} s "
                  f"({sizes[0]:.0f} + {sizes[1]:.0f} MB)")
            base = _in_process("baseline", origin, destination)
            full = _in_process("full", origin, destination)
            candidates = full["stages"].get("candidates", 0.0)
            candidates_cpu = full["cpu"].get("candidates", 0.0)
            print(f"  rows:       {full['rows'][0]:,} origin, {full['rows'][1]:,} destination")
            print(f"  baseline:   {base['seconds']:.2f} s wall, {base['cpu_seconds']:.2f} s CPU "
                  f"({base['read_seconds']:.2f} s read), peak RSS {base['peak_rss_mb']:.0f} MB, "
                  f"{base['joined']:,} joined")
            print(f"  full run:   {full['seconds']:.2f} s wall, {full['cpu_seconds']:.2f} s CPU "
                  f"({full['read_seconds']:.2f} s read), peak RSS {full['peak_rss_mb']:.0f} MB")
            print("  stages, wall seconds (CPU seconds):")
            for side in ("origin", "destination"):
                print(f"    read {side + ':':<12} "
                      + _stages(full["read_stages"][side], full["read_cpu"][side]))
            print("    then:             " + _stages(full["stages"], full["cpu"]))
            print(f"  ratio:      {full['seconds'] / base['seconds']:.2f}x baseline wall, "
                  f"{full['cpu_seconds'] / base['cpu_seconds']:.2f}x CPU (aim <= 3x)")
            print(f"  candidates: {candidates:.2f} s = "
                  f"{100 * candidates / full['seconds']:.1f} % of the run wall, "
                  f"{candidates_cpu:.2f} s = {100 * candidates_cpu / full['cpu_seconds']:.1f} % "
                  "of its CPU (aim <= 25 %)")
            print(f"  counts:     {full['counts']}")


if __name__ == "__main__":
    main()
