"""What the local audio servers (speech, transcription) share: the probes the gateway's
health checks read, OpenAI-shaped refusals, and the command line `gptapi serve` starts
them with."""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Callable
from typing import Any

from aiohttp import web

from gptapi.inference.child import die_with_parent


class Refused(Exception):
    """A request field the engine cannot honour: a 400 naming it."""

    def __init__(self, message: str, param: str, code: str = "invalid_value") -> None:
        super().__init__(message)
        self.param = param
        self.code = code


def error_response(status: int, message: str, param: str | None, code: str | None) -> web.Response:
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return web.json_response(body, status=status)


class AudioServer:
    """`/health`, `/props` (with `total_slots`) and `/v1/models`, as llama-server answers
    them, beside the one endpoint a subclass serves."""

    engine = ""  # `owned_by` in /v1/models
    path = ""
    max_body_bytes = 1 << 20

    def __init__(self, aliases: list[str], slots: int) -> None:
        self.aliases = aliases
        self.slots = slots

    async def handle(self, request: web.Request) -> web.Response:
        raise NotImplementedError

    def props_extra(self) -> dict[str, Any]:
        return {}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body_bytes)
        app.router.add_get("/health", self.health)
        app.router.add_get("/props", self.props)
        app.router.add_get("/v1/models", self.models)
        app.router.add_post(self.path, self.handle)
        return app

    async def health(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def props(self, _: web.Request) -> web.Response:
        return web.json_response({"total_slots": self.slots, **self.props_extra()})

    async def models(self, _: web.Request) -> web.Response:
        data = [{"id": a, "object": "model", "owned_by": self.engine} for a in self.aliases]
        return web.json_response({"object": "list", "data": data})


def serve(
    description: str,
    argv: list[str] | None,
    build: Callable[[list[str], int], AudioServer],
    *,
    kind: str,
    parallel: int,
    check: Callable[[], None] = lambda: None,
) -> None:
    """Parse the command line `gptapi serve` starts a server with, then run it until its
    parent goes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--alias", required=True, help="comma-separated model names")
    parser.add_argument("--parallel", type=int, default=parallel)
    parser.add_argument("--parent", type=int, default=os.getppid())
    args = parser.parse_args(argv)
    die_with_parent(args.parent)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    check()
    server = build(args.alias.split(","), args.parallel)
    print(f"{kind} server for {args.alias} on {args.host}:{args.port}", flush=True)
    web.run_app(server.app(), host=args.host, port=args.port, print=None)
