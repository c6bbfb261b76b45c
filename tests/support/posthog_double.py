"""PostHog's capture API on loopback, as posthog-js talks to it: events posted to `/e/`
(also `/i/v0/e/`, `/batch/`, `/capture/`), compressed as the `compression` query parameter
says — `gzip-js` (or no parameter and a gzip body), `base64` (a form with
`data=<base64 JSON>`), or none (JSON, or a form with `data=`) — one event or a batch; each
event's `properties.token` must be the project key.
Feature flags (`/flags/`) answer that there are none. CORS as PostHog's ingestion answers it.
`requests` records every path hit, `events` every event accepted, `raw` each decoded body."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.threads import LoopbackDouble

PROJECT_KEY = "phc_double_project_key"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
}


def decode(body: bytes, compression: str | None) -> Any:
    # posthog-js names gzip in the query string, or only by the bytes themselves.
    if compression == "gzip-js" or body[:2] == b"\x1f\x8b":
        return json.loads(gzip.decompress(body))
    text = body.decode()
    if text.startswith("data="):
        data = parse_qs(text)["data"][0]
        if compression == "base64":
            return json.loads(base64.b64decode(data))
        return json.loads(data)
    return json.loads(text)


class PostHogDouble(LoopbackDouble):
    def __init__(self) -> None:
        self.requests: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        capture = ["/e/", "/i/v0/e/", "/batch/", "/capture/", "/e", "/i/v0/e"]
        routes = [Route(path, self.capture, methods=["POST", "OPTIONS"]) for path in capture]
        routes.append(Route("/flags/", self.flags, methods=["POST", "GET", "OPTIONS"]))
        super().__init__(Starlette(routes=routes))

    async def flags(self, request: Request) -> Response:
        self.requests.append(request.url.path)
        return JSONResponse({"flags": {}, "errorsWhileComputingFlags": False}, headers=CORS)

    async def capture(self, request: Request) -> Response:
        self.requests.append(request.url.path)
        if request.method == "OPTIONS":
            return Response(status_code=200, headers=CORS)
        try:
            payload = decode(await request.body(), request.query_params.get("compression"))
        except (ValueError, OSError, KeyError):
            return JSONResponse(
                {"type": "validation_error", "code": "invalid_payload"}, 400, headers=CORS
            )
        self.raw.append(json.dumps(payload))
        batch = payload.get("batch", [payload]) if isinstance(payload, dict) else payload
        for event in batch:
            properties = event.get("properties") or {}
            if properties.get("token", event.get("api_key")) != PROJECT_KEY:
                return JSONResponse(
                    {"type": "authentication_error", "code": "invalid_api_key"}, 401, headers=CORS
                )
            self.events.append(event)
        return JSONResponse({"status": 1}, headers=CORS)

    def page_views(self) -> list[str]:
        return [
            str(e["properties"].get("$current_url", ""))
            for e in self.events
            if e["event"] == "$pageview"
        ]
