"""Sentry's ingestion endpoint on loopback: `POST /api/{project}/envelope/`, authenticated by
the DSN's public key (in `X-Sentry-Auth` from servers, in the `sentry_key` query parameter
from browsers), bodies in Sentry's envelope format — a JSON header line, then for each item a
JSON item header line (with an optional `length`) and its payload — gzip-compressed when
`Content-Encoding: gzip`. Answers CORS preflights as Sentry does, so a browser can post.
`events` holds the error events received; `raw` every body as it arrived (decompressed)."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.threads import LoopbackDouble

PUBLIC_KEY = "f00dfeedf00dfeedf00dfeedf00dfeed"
PROJECT = "42"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
}


def parse_envelope(body: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], bytes]]]:
    header_line, _, rest = body.partition(b"\n")
    header = json.loads(header_line)
    items: list[tuple[dict[str, Any], bytes]] = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item = json.loads(item_line)
        if "length" in item:
            payload, rest = rest[: item["length"]], rest[item["length"] :].removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((item, payload))
    return header, items


class SentryDouble(LoopbackDouble):
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        super().__init__(
            Starlette(
                routes=[
                    Route("/api/{project}/envelope/", self.envelope, methods=["POST", "OPTIONS"])
                ]
            )
        )

    def dsn(self, host: str = "127.0.0.1") -> str:
        return f"http://{PUBLIC_KEY}@{host}:{self.server.port}/{PROJECT}"

    async def envelope(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=200, headers=CORS)
        auth = request.headers.get("x-sentry-auth", "")
        key = request.query_params.get("sentry_key") or (
            auth.split("sentry_key=", 1)[1].split(",", 1)[0] if "sentry_key=" in auth else ""
        )
        if request.path_params["project"] != PROJECT or key.strip() != PUBLIC_KEY:
            return JSONResponse({"detail": "invalid api key"}, 401, headers=CORS)
        body = await request.body()
        encoding = request.headers.get("content-encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding:
            return JSONResponse({"detail": f"unsupported encoding {encoding}"}, 415, headers=CORS)
        self.raw.append(body)
        header, items = parse_envelope(body)
        for item, payload in items:
            if item.get("type") == "event":
                self.events.append(json.loads(payload))
        return JSONResponse({"id": header.get("event_id")}, headers=CORS)

    def tagged(self, name: str, value: str) -> list[dict[str, Any]]:
        return [e for e in self.events if (e.get("tags") or {}).get(name) == value]
