"""Pure ASGI middleware for the hot path: request id and body-size limit.

Pure ASGI (not BaseHTTPMiddleware) keeps streaming untouched and costs one function call.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gptapi.gateway.errors import OpenAIError
from gptapi.kit.ids import request_id as new_request_id


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id()
        scope.setdefault("state", {})["request_id"] = rid
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        limit = self.max_body_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_large = int(value) > limit
                except ValueError:
                    too_large = False
                if too_large:
                    await _reject_too_large(limit, send_with_id)
                    return
                break

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send_with_id)


class BodyTooLarge(OpenAIError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"The request body is too large: the limit is {limit} bytes.",
            code="request_too_large",
        )


async def _reject_too_large(limit: int, send: Send) -> None:
    error = BodyTooLarge(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": error.json_bytes()})
