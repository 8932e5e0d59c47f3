"""An "unknown" HTTP system for docs/adding-a-system.md: a study platform's member API that no
Yanxing mapping knows yet, served on 127.0.0.1.

Like the platforms met in the field it has its own names (pinyin abbreviations), codes (男/女,
正常/失联), its own paging (pageNo/pageSize, at most 20 a page whatever is asked) and batch
read (idList, at most 10 ids a call), and wants a token header. One record has a mistyped ID
number. Run it with `python study_platform.py --port 8765 --token walkthrough-token`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from aiohttp import web

from connectors.testing import make_id_number

PAGE_CAP, BATCH_CAP = 20, 10


def answer(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status,
                             dumps=lambda value: json.dumps(value, ensure_ascii=False))
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许"


def members() -> list[dict[str, Any]]:
    rows = []
    for i in range(1, 31):
        rows.append({
            "uid": f"XX{i:04d}",
            "xm": f"{SURNAMES[i % len(SURNAMES)]}学{i}",
            "sfzh": make_id_number("510521", f"19{80 + i % 15}0{1 + i % 9}15", i),
            "xb": "男" if i % 2 else "女",
            "lxdh": f"1390000{i:04d}",
            "hjdm": "510521",        # 户籍地 (origin region): 泸县
            "ldqdm": "330106",       # 流动去向 (destination region): 杭州市西湖区
            "zt": "正常" if i % 7 else "失联",
        })
    rows[4]["sfzh"] = rows[4]["sfzh"][:-1] + ("0" if rows[4]["sfzh"][-1] != "0" else "1")
    return rows


def app(token: str) -> web.Application:
    rows = members()
    by_id = {r["uid"]: r for r in rows}

    @web.middleware
    async def check_token(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("X-Access-Token") != token:
            return answer({"code": 401, "msg": "token无效"}, status=401)
        return await handler(request)

    async def page(request: web.Request) -> web.Response:
        number = int(request.query.get("pageNo", "1"))
        size = min(int(request.query.get("pageSize", "10")), PAGE_CAP)
        chunk = rows[(number - 1) * size : number * size]
        return answer({"code": 0, "data": {"records": chunk, "total": len(rows)}})

    async def batch(request: web.Request) -> web.Response:
        wanted = [i for i in request.query.get("idList", "").split(",") if i][:BATCH_CAP]
        found = [by_id[i] for i in wanted if i in by_id]
        return answer({"code": 0, "data": {"records": found}})

    application = web.Application(middlewares=[check_token])
    application.router.add_get("/api/v2/partymembers", page)
    application.router.add_get("/api/v2/partymembers/batch", batch)
    return application


async def serve(port: int, token: str) -> None:
    runner = web.AppRunner(app(token))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1] if site._server else port  # --port 0
    print(f"study platform on http://127.0.0.1:{bound}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default="walkthrough-token")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.token))
