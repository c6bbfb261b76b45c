"""One WebSocket session: its key, its events, and its turns through the /v1 pipeline.

A session is authenticated once, when it opens, with the key in an `Authorization: Bearer`
header or, from a browser (which cannot set headers on a WebSocket), in the subprotocol
`openai-insecure-api-key.<key>` beside `realtime`, as OpenAI's Realtime API takes it. A
refused key gets an `error` event, then close code 1008.

Each piece of work a session does (a sentence spoken, a stretch of audio transcribed, a
chat reply) is a turn: an ordinary request to a /v1 surface, run by `OpenAIServing.serve`
with the session's key, so it is rate limited, held, metered, billed and logged exactly as
the same HTTP request would be, with a request id of its own that its events name.

Backpressure: what the client sends becomes jobs in a short queue, done one at a time in
order. While the queue is full the session stops reading the socket, so a client sending
faster than its turns run is slowed by TCP rather than buffered without end. When the client
leaves, the turn running is cancelled (it is billed as any request whose client left: audio
and unanswered turns cost nothing) and the jobs still queued are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Scope
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gptapi.gateway import errors
from gptapi.gateway.errors import OpenAIError
from gptapi.gateway.keys import KeyContext
from gptapi.gateway.openai.serving import OpenAIServing
from gptapi.kit.ids import request_id as new_request_id
from gptapi.kit.sse import DONE, iter_data

log = logging.getLogger(__name__)

SUBPROTOCOL = "realtime"
KEY_PROTOCOL = "openai-insecure-api-key."
POLICY_VIOLATION = 1008  # close code: the key was refused
QUEUED_JOBS = 4

Job = Callable[[], Awaitable[None]]


class ClientLeft(Exception):
    """The client closed the socket (or the connection dropped)."""


def _protocol_key(websocket: WebSocket) -> str | None:
    """The key a browser offers as a subprotocol, if any."""
    protocol: str
    for protocol in websocket.scope.get("subprotocols", ()):
        if protocol.startswith(KEY_PROTOCOL):
            return protocol[len(KEY_PROTOCOL) :]
    return None


def unknown_event(kind: str, known: str) -> OpenAIError:
    return errors.invalid_request(
        f"Unknown event type '{kind}'; this endpoint takes: {known}.",
        param="type",
        code="unknown_event",
    )


class Session:
    def __init__(self, websocket: WebSocket, serving: OpenAIServing, context: KeyContext) -> None:
        self.websocket = websocket
        self.serving = serving
        self.context = context
        self._gone = asyncio.Event()
        self._jobs: asyncio.Queue[Job] = asyncio.Queue(maxsize=QUEUED_JOBS)

    @classmethod
    async def open(cls, websocket: WebSocket) -> Session | None:
        """The session, accepted and authenticated; None once a refused one is closed."""
        serving: OpenAIServing = websocket.app.state.serving
        offered = websocket.scope.get("subprotocols", ())
        await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        header, token = websocket.headers.get("authorization"), _protocol_key(websocket)
        try:
            if header is None and token is not None:
                context = await serving.authenticate_key(token)
            else:
                context = await serving.authenticate_header(header)
        except OpenAIError as refused:
            await websocket.send_text(orjson.dumps({"type": "error", **refused.body()}).decode())
            await websocket.close(POLICY_VIOLATION, refused.code or "invalid_api_key")
            return None
        return cls(websocket, serving, context)

    # ------------------------------------------------------------ what the client sends

    async def run(
        self,
        on_event: Callable[[dict[str, Any]], Awaitable[None]],
        on_audio: Callable[[bytes], Awaitable[None]],
    ) -> None:
        """Read the client's messages until it leaves, handing JSON events to `on_event`
        and binary frames to `on_audio`, while the queued jobs run in order."""
        worker = asyncio.create_task(self._work())
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                try:
                    data = message.get("bytes")
                    if data is not None:
                        await on_audio(data)
                        continue
                    event = await self._event(message.get("text") or "")
                    if event is not None:
                        await on_event(event)
                except OpenAIError as error:  # the client's mistake: said, and the session goes on
                    await self.error_later(error)
        finally:
            self._gone.set()
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    async def _event(self, text: str) -> dict[str, Any] | None:
        try:
            event = orjson.loads(text)
        except orjson.JSONDecodeError:
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            await self.error_later(
                errors.invalid_request(
                    "Each text message is a JSON object with a string 'type'.",
                    code="invalid_event",
                )
            )
            return None
        return event

    async def queue(self, job: Job) -> None:
        """Run `job` after those queued before it; waits while the queue is full."""
        await self._jobs.put(job)

    async def confirm(self, settings: dict[str, Any]) -> None:
        """`session.updated` with the settings as they are now, in the order of the output."""
        shown = dict(settings)
        await self.queue(lambda: self.send_event("session.updated", session=shown))

    async def error_later(self, error: OpenAIError) -> None:
        """Report an error in the order of the session's output: after the jobs queued."""
        await self.queue(lambda: self.send_error(error))

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            try:
                await job()
            except OpenAIError as error:
                await self.send_error(error)
            except ClientLeft:
                self._gone.set()  # nothing more to say to a client that left
                return
            except Exception:
                log.exception(
                    "unhandled error in a WebSocket session on %s", self.websocket.url.path
                )
                await self.send_error(errors.internal_error())

    # ------------------------------------------------------------ what the session sends

    async def send_event(self, kind: str, **fields: Any) -> None:
        await self._send(orjson.dumps({"type": kind, **fields}), text=True)

    async def send_audio(self, audio: bytes, chunk: int = 32_768) -> None:
        for start in range(0, len(audio), chunk):
            await self._send(audio[start : start + chunk], text=False)

    async def send_error(self, error: OpenAIError) -> None:
        request_id = error.headers.get("x-request-id")
        named = {"request_id": request_id} if request_id else {}
        await self.send_event("error", **named, **error.body())

    async def _send(self, data: bytes, *, text: bool) -> None:
        if self._gone.is_set() or self.websocket.application_state != WebSocketState.CONNECTED:
            raise ClientLeft
        message: Message = (
            {"type": "websocket.send", "text": data.decode()}
            if text
            else {"type": "websocket.send", "bytes": data}
        )
        try:
            await self.websocket.send(message)
        except (WebSocketDisconnect, OSError, RuntimeError) as exc:
            # (The server's word for a socket closed under the send varies.)
            raise ClientLeft from exc

    # ------------------------------------------------------------ turns

    async def turn(self, path: str, body: dict[str, Any], size: int | None = None) -> Turn:
        """`body` sent to the /v1 surface at `path` under the session's key; an OpenAIError
        (naming its request id) when it is refused or fails, ClientLeft when the client
        went away first."""
        request_id, response, _ = await self._serve(path, body, size)
        return Turn(request_id, response)

    async def streamed_turn(
        self, path: str, body: dict[str, Any]
    ) -> tuple[str, AsyncGenerator[dict[str, Any], None]]:
        """A turn whose body asks for a stream: its request id, and its events (the JSON of
        each `data:` line) as they arrive. Leaving the events unfinished ends the request as
        a client leaving would."""
        request_id, response, scope = await self._serve(path, body, None)
        return request_id, self._events(response, scope)

    async def _serve(
        self, path: str, body: dict[str, Any], size: int | None
    ) -> tuple[str, Response, Scope]:
        request_id = new_request_id()
        scope: Scope = {
            "type": "http",
            "method": "POST",
            "path": path,
            "headers": [],
            "query_string": b"",
            "state": {"request_id": request_id},
        }
        request = Request(scope, self._receive)
        shown = len(orjson.dumps(body)) if size is None else size
        surface = self.serving.surfaces[path]
        try:
            response = await self.serving.serve(
                request, surface, self.context, body, shown, time.perf_counter()
            )
        except OpenAIError as error:
            error.headers["x-request-id"] = request_id
            raise
        if response.status_code != 200:
            raise ClientLeft
        return request_id, response, scope

    async def _events(
        self, response: Response, scope: Scope
    ) -> AsyncGenerator[dict[str, Any], None]:
        # The response runs as it would for an HTTP client, its body read here instead.
        bodies: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def send(message: Message) -> None:
            if message["type"] == "http.response.body":
                await bodies.put(message.get("body", b""))
                if not message.get("more_body"):
                    await bodies.put(None)

        async def lines() -> AsyncGenerator[bytes, None]:
            pending = b""
            while (chunk := await bodies.get()) is not None:
                *complete, pending = (pending + chunk).split(b"\n")
                for line in complete:
                    yield line + b"\n"

        sending = asyncio.create_task(response(scope, self._receive, send))
        try:
            async for data in iter_data(lines()):
                if data != DONE:
                    yield orjson.loads(data)
        finally:
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)

    async def _receive(self) -> Message:
        # What a turn's request hears from its "client": nothing, until the session's does.
        await self._gone.wait()
        return {"type": "http.disconnect"}


class Turn:
    """A turn's answer: its request id, body and charge."""

    def __init__(self, request_id: str, response: Response) -> None:
        self.request_id = request_id
        self.body = bytes(response.body)
        self.headers = response.headers

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self.body)
        return data

    @property
    def cost_nanos(self) -> int:
        shown = self.headers.get("x-request-cost-nanos")
        if shown is not None:
            return int(shown)
        return int(self.json()["usage"]["cost_nanos"])
