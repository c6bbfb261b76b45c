"""Liveness and readiness for orchestrators, and the shutdown that readiness announces.

`/livez` says the process answers: nothing else would be fixed by restarting it, so it checks
nothing else. `/readyz` says the process should receive traffic: the database answers and the
process is not shutting down; a load balancer stops sending requests on a 503.

On SIGTERM (or Ctrl-C) `/readyz` turns 503 at once while the server keeps serving for
SHUTDOWN_UNREADY_SECONDS, the time a load balancer needs to notice; then the listener closes
and in-flight requests get SHUTDOWN_GRACE_SECONDS to finish before they are cut.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from collections.abc import Callable
from types import FrameType

import uvicorn
from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import JSONResponse

log = logging.getLogger(__name__)

# A database slower than this to answer `SELECT 1` is as good as unreachable for a request.
DATABASE_TIMEOUT_SECONDS = 2.0


class Readiness:
    """Whether this process is shutting down; `app.state.readiness`."""

    def __init__(self) -> None:
        self.draining = False


router = APIRouter(include_in_schema=False)


@router.get("/livez")
async def livez() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    readiness: Readiness = request.app.state.readiness
    if readiness.draining:
        return JSONResponse({"status": "shutting down"}, status_code=503)
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            async with request.app.state.runtime.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to answer means: send traffic elsewhere
        log.warning("not ready: the database does not answer (%s)", type(exc).__name__)
        return JSONResponse({"status": "database unreachable"}, status_code=503)
    return JSONResponse({"status": "ok"})


class GracefulServer(uvicorn.Server):
    """uvicorn, except that the first exit signal marks the process not ready and waits
    `unready_seconds` before uvicorn's own graceful shutdown starts. A second signal skips
    the wait (and a third Ctrl-C, as in uvicorn, stops waiting for requests).
    `after_shutdown` runs once the app has shut down."""

    def __init__(
        self,
        config: uvicorn.Config,
        readiness: Readiness,
        *,
        unready_seconds: float,
        after_shutdown: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(config)
        self.readiness = readiness
        self.unready_seconds = unready_seconds
        self.after_shutdown = after_shutdown
        self._exit_at: float | None = None
        self._signal = signal.SIGTERM

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler: it only sets flags, which `on_tick` reads on the event loop.
        if self.readiness.draining or self.unready_seconds <= 0:
            self.readiness.draining = True
            super().handle_exit(sig, frame)
            return
        self.readiness.draining = True
        self._signal = signal.Signals(sig)
        self._exit_at = time.monotonic() + self.unready_seconds

    async def on_tick(self, counter: int) -> bool:
        if self._exit_at is not None and time.monotonic() >= self._exit_at:
            self._exit_at = None
            super().handle_exit(self._signal, None)
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        # Here, not after `serve()` returns: uvicorn then re-raises the exit signal, and the
        # process ends before anything after it runs (buffered traces would be lost).
        await asyncio.to_thread(self.after_shutdown)
