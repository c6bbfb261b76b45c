"""A double of stable-diffusion.cpp's `sd-server`, the image server behind image models.

It speaks the real server's wire format, from leejet/stable-diffusion.cpp
`examples/server/routes_openai.cpp` (`register_openai_api_endpoints`):

- `GET /v1/models` → `{"data": [{"id": "sd-cpp-local", "object": "model", "owned_by": "local"}]}`;
  the server has no `/health` or `/props` (a 404, as cpp-httplib answers an unknown path).
- `POST /v1/images/generations` reads `prompt` (required: 400 `{"error": "prompt required"}`),
  `n` (the batch count, at least 1), `size` ("WxH"; 512x512 when absent), `output_format`
  (png | jpeg | webp) and `output_compression`, ignores every other field, and answers
  `{"created", "data": [{"b64_json"}…], "output_format"}`; a generation that fails is a 500
  `{"error": "generate_image returned no results"}`. The images here are real PNGs of the
  size asked (one flat colour), whatever the format: the gateway passes them on untouched.

`mode` programs it: `ok`; `fewer` (returns `short_by` fewer images than asked, as the real
server does when an image fails to encode: it skips it); `none` (a 200 with no images);
`fail` (the 500); `invalid` (the 400 `{"error": "invalid params"}` the real server answers
when its model cannot make what was asked). Every generation request's body is kept in
`requests`.
"""

from __future__ import annotations

import base64
import struct
import time
import zlib
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.threads import LoopbackDouble

DEFAULT_SIZE = (512, 512)


def png(width: int, height: int, rgb: tuple[int, int, int] = (40, 90, 160)) -> bytes:
    """A valid PNG: 8-bit RGB, one flat colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 1))
        + chunk(b"IEND", b"")
    )


class SdServerDouble(LoopbackDouble):
    def __init__(self) -> None:
        self.mode = "ok"
        self.short_by = 1
        self.requests: list[dict[str, Any]] = []
        super().__init__(
            Starlette(
                routes=[
                    Route("/v1/models", self.models, methods=["GET"]),
                    Route("/v1/images/generations", self.generate, methods=["POST"]),
                ]
            )
        )

    async def models(self, request: Request) -> Response:
        model = {"id": "sd-cpp-local", "object": "model", "owned_by": "local"}
        return JSONResponse({"data": [model]})

    async def generate(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        prompt = body.get("prompt", "")
        if not prompt:
            return JSONResponse({"error": "prompt required"}, status_code=400)
        if self.mode == "invalid":
            return JSONResponse({"error": "invalid params"}, status_code=400)
        if self.mode == "fail":
            return JSONResponse({"error": "generate_image returned no results"}, status_code=500)
        count = max(1, int(body.get("n", 1)))
        width, height = DEFAULT_SIZE
        if size := body.get("size"):
            width, height = (int(side) for side in size.split("x"))
        if self.mode == "fewer":
            count = max(0, count - self.short_by)
        elif self.mode == "none":
            count = 0
        image = base64.b64encode(png(width, height)).decode()
        return JSONResponse(
            {
                "created": int(time.time()),
                "data": [{"b64_json": image} for _ in range(count)],
                "output_format": body.get("output_format", "png"),
            }
        )
