"""PostgreSQL cannot store U+0000 in text. A request carrying it anywhere (query, path or JSON
body) is refused up front with a clear 400, the same on every backend, rather than failing at
the database halfway through a change."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from gptapi.console.errors import bad_request

NUL = "\x00"


def _nul_path(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                return where
            found = _nul_path(item, where)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _refuse(param: str) -> None:
    raise bad_request("Text may not contain the NUL character (U+0000).", param=param)


async def refuse_nul_characters(request: Request) -> None:
    for name, value in (*request.query_params.multi_items(), *request.path_params.items()):
        if NUL in str(value):
            _refuse(name)
    if "json" not in request.headers.get("content-type", ""):
        return
    body = await request.body()
    # JSON can only spell U+0000 as an escape; skip parsing bodies that cannot hold one.
    if b"\\u0000" not in body:
        return
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return  # request validation answers malformed JSON
    found = _nul_path(data, "")
    if found is not None:
        _refuse(found)
