"""Data and upstream of bench/sync_scale.py: one province's members, as the Chengdu platform
serves them and as a village ledger (.xlsx) keeps them.

    YANXING_BENCH_TOKEN=... .venv/bin/python bench/_province.py serve MEMBERS.jsonl

The members are the first N people of the demo world (hub.demo.generator), each with the
Chengdu platform's local id and JSON (hub.demo.systems.chengdu.member_json) and the ledger's
cells (hub.demo.systems.ledger.ledger_cells), planted defects included. Written once per
(N, seed) into a cache directory, since generating a province takes longer than syncing it.

The platform serves the members collection only (`world_collections` would also build every
activity's attendance, far too heavy at this scale) with the real platform's paging and caps:
bearer token, `?limit=` capped at 500, opaque cursor (base64 of the last id), the same
`{"code": 0, "data": {"items": [...], "nextCursor": ...}}` body. Rows are kept as encoded JSON,
so the platform's own cost per page stays small next to the hub's.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import hmac
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from aiohttp import web

from hub.demo.generator import DEFECT_AT, generate_world, local_id_for
from hub.demo.model import SystemMember
from hub.demo.systems._http import decode_cursor, encode_cursor
from hub.demo.systems.chengdu import MAX_LIMIT, member_json
from hub.demo.systems.ledger import HEADERS, SUBTITLE, TITLE, ledger_cells

_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def province(members: int, seed: int, system: str) -> Iterator[SystemMember]:
    """The first `members` people of the demo world as `system` lists them (its local ids,
    a defect planted every so often as the demo does)."""
    for person in generate_world(members, seed).members():
        ordinal = person.index + 1
        local_id = (
            f"YS{ordinal:07d}" if system == "village_ledger"
            else local_id_for(system, person, ordinal)
        )
        yield SystemMember(person, system, local_id, ordinal, DEFECT_AT.get(ordinal % 1000))


def write_members_jsonl(members: int, seed: int, path: Path) -> None:
    """The platform's rows, one JSON object a line, sorted by memberId as it serves them."""
    rows = sorted(
        (m.local_id, _dumps(member_json(m))) for m in province(members, seed, "chengdu")
    )
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for _, line in rows:
            fh.write(line + "\n")
    tmp.replace(path)


def write_ledger_xlsx(members: int, seed: int, path: Path) -> None:
    """The village ledger's layout (title and 填报单位 rows above the Chinese header, 出生日期
    as Excel dates, 所在党支部 and 党组织编码 merged down the column, a blank row in the middle)
    with `members` rows. Write-only openpyxl: the demo's writer holds every cell in memory."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    organizations = {o.org_id: o for o in generate_world(1, seed).organizations()}
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("流动党员台账")
    width = len(HEADERS)
    last_col = get_column_letter(width)
    ws.append([TITLE])
    ws.append([SUBTITLE])
    ws.append(list(HEADERS))
    merged = [HEADERS.index("所在党支部"), HEADERS.index("党组织编码")]
    blank_after = max(1, members // 2)
    row_no, block_start = 4, 4
    blocks: list[tuple[int, int]] = []
    for n, m in enumerate(province(members, seed, "village_ledger"), start=1):
        cells = ledger_cells(m, organizations)
        values: list[object] = []
        for col, header in enumerate(HEADERS):
            value = cells[header]
            if col in merged and row_no != block_start:
                value = None  # only the top cell of a merged range holds the value
            elif header == "出生日期" and not isinstance(value, str):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = "yyyy/m/d"
                value = cell
            values.append(value)
        ws.append(values)
        row_no += 1
        if n == blank_after or n == members:
            blocks.append((block_start, row_no - 1))
            ws.append([])
            row_no += 1
            block_start = row_no
    ws.merged_cells.add(f"A1:{last_col}1")
    ws.merged_cells.add(f"A2:{last_col}2")
    for col in merged:
        letter = get_column_letter(col + 1)
        for first, last in blocks:
            if last > first:
                ws.merged_cells.add(f"{letter}{first}:{letter}{last}")
    tmp = path.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    tmp.replace(path)


class _Platform:
    """GET /api/v1/members over pre-encoded rows, paged like hub.demo.systems.chengdu."""

    def __init__(self, lines: list[str], token: str) -> None:
        self.rows = [line.encode("utf-8") for line in lines]
        self.ids = [json.loads(line)["memberId"] for line in lines]
        self.token = token

    def _body(self, items: list[bytes], next_cursor: str | None) -> web.Response:
        body = b'{"code":0,"data":{"items":[' + b",".join(items) + b'],"nextCursor":'
        body += json.dumps(next_cursor).encode() + b"}}"
        return web.Response(body=body, content_type="application/json", charset="utf-8")

    async def members(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), self.token):
            return web.json_response({"code": 401, "message": "未授权", "data": None}, status=401)
        query = request.query
        if ids := query.get("ids"):
            wanted = [i for i in ids.split(",") if i]
            found = [self.rows[p] for i in wanted
                     if (p := bisect.bisect_left(self.ids, i)) < len(self.ids) and self.ids[p] == i]
            return self._body(found, None)
        limit = min(int(query.get("limit", "50")), MAX_LIMIT)
        cursor = query.get("cursor")
        start = bisect.bisect_right(self.ids, decode_cursor(cursor)) if cursor else 0
        page = self.rows[start : start + limit]
        more = start + limit < len(self.rows)
        return self._body(page, encode_cursor(self.ids[start + len(page) - 1]) if more else None)


async def serve(platform: _Platform) -> None:
    """Serve until stdin closes; print {"url": ...} once listening."""
    app = web.Application()
    app.add_routes([web.get("/api/v1/members", platform.members)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}", "members": len(platform.rows)}),
          flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "serve" or not os.environ.get("YANXING_BENCH_TOKEN"):
        sys.exit("usage: YANXING_BENCH_TOKEN=... _province.py serve MEMBERS.jsonl")
    lines = Path(sys.argv[2]).read_text(encoding="utf-8").splitlines()
    asyncio.run(serve(_Platform(lines, os.environ["YANXING_BENCH_TOKEN"])))
