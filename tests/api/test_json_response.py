"""GraphQL answers are encoded by orjson (hub.api.http.GraphQLJSONResponse): the same bytes as
Starlette's JSONResponse for everything an answer holds, and JSONResponse's way for what
orjson refuses."""

from __future__ import annotations

import json

from starlette.responses import JSONResponse

from hub.api.http import GraphQLJSONResponse


def test_the_same_bytes_as_json_response() -> None:
    body = {"data": {"members": {"nodes": [
        {"name": "张三", "phone": "138****1234", "age": 41, "score": 0.1, "active": True,
         "note": None, "quote": "他说\"好\"\n", "tags": ["流动党员", "\u2028"]}]}},
        "errors": [{"message": "x", "extensions": {"code": "CONTRACT_DENIED"}}]}
    assert GraphQLJSONResponse(body).body == JSONResponse(body).body


def test_what_orjson_refuses_takes_json_responses_way() -> None:
    body = {"data": {"big": 2**70, "keys": {1: "a"}}}
    answer = GraphQLJSONResponse(body, status_code=200)
    assert answer.body == JSONResponse(body).body
    assert json.loads(bytes(answer.body)) == {"data": {"big": 2**70, "keys": {"1": "a"}}}
