"""ASGI plumbing for client disconnects.

`EventStreamResponse` sends an async generator as `text/event-stream` while watching for
the client to go away; when it does, the generator is cancelled at once (not at its next
write), so its `finally` closes the upstream request and llama-server frees the slot.
`cancel_on_disconnect` gives non-streaming handlers the same: the handler task is cancelled
when the client disconnects while it waits on the upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


# Most requests finish sooner than this; only slower ones pay for a watcher task.
WATCH_AFTER_SECONDS = 0.05


class cancel_on_disconnect:
    """Cancel the current task if the client disconnects inside the block.

    `async with cancel_on_disconnect(receive) as gone:` — `gone.is_set()` tells, afterwards,
    whether that happened, so the caller can tell a disconnect from any other cancellation.
    The watcher starts only once the block has run for `WATCH_AFTER_SECONDS`. (A class, not a
    generator-based context manager, and no Event: this is on every request.)
    """

    __slots__ = ("_gone", "_receive", "_task", "_timer", "_watcher")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._gone = False
        self._watcher: asyncio.Task[None] | None = None

    def is_set(self) -> bool:
        return self._gone

    async def __aenter__(self) -> cancel_on_disconnect:
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._timer = asyncio.get_running_loop().call_later(WATCH_AFTER_SECONDS, self._start)
        return self

    async def __aexit__(self, *_: object) -> None:
        self._timer.cancel()
        if self._watcher is not None:
            self._watcher.cancel()

    def _start(self) -> None:
        self._watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        await _wait_for_disconnect(self._receive)
        self._gone = True
        self._task.cancel()


class EventStreamResponse(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        body: AsyncGenerator[bytes, None],
        headers: Mapping[str, str],
        never_started: Callable[[], None] | None = None,
    ) -> None:
        """`never_started` is called if the client is gone before `body` is first iterated:
        a generator closed before it starts never runs its `finally`."""
        # Not Response.__init__: with no body it would announce `content-length: 0`.
        self.status_code = 200
        self._never_started = never_started
        self.background = None
        self.init_headers(dict(headers))
        self.raw_headers.append((b"cache-control", b"no-cache"))
        self.raw_headers.append((b"x-accel-buffering", b"no"))
        self._body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pump = asyncio.create_task(self._pump(send))
        watcher = asyncio.create_task(_wait_for_disconnect(receive))
        try:
            await asyncio.wait({pump, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            if not pump.done():
                pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await pump

    async def _pump(self, send: Send) -> None:
        started = False
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            started = True
            async for chunk in self._body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            if not started and self._never_started is not None:
                self._never_started()
            await self._body.aclose()
