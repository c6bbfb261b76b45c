"""HTTP/1.1 client for llama-server upstreams, with a timeout on every hop.

A keep-alive pool per server on plain asyncio protocols and httptools' response parser (the
one uvicorn parses requests with): proxying is most of the gateway's work, and a general
client's per-request machinery (URL objects, header multidicts, writer tasks, cookie jars)
cost several times what the request itself does. Request heads are built once per server
and path.

llama-server's quirks shape it: it closes a keep-alive connection after 5 s idle (so idle
connections are dropped at 4 s, and one the server closes leaves the pool at once), and it
closes the connection after a streamed response while announcing keep-alive (so a stream's
connection never goes back to the pool). A request that fails on a reused connection is not
retried here: the server may have it, and the caller decides (another server, before the
first byte).

Every failure is an `OSError`: `UpstreamConnectError` (nothing was sent; try another
server), `UpstreamReadTimeout` (a `TimeoutError`: the server may still be working on it) and
`UpstreamDisconnected` (the connection broke or spoke garbage mid-response).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any, cast
from urllib.parse import urlsplit

import httptools
import orjson

from gptapi.gateway.upstream.registry import UpstreamServer

# llama-server (cpp-httplib) closes a keep-alive connection after 5 s idle; reusing one it is
# closing fails the request, so idle connections are dropped before that.
KEEPALIVE_SECONDS = 4.0
# A stream's unread bytes past this pause reading from the server until the client catches up.
STREAM_BUFFER_BYTES = 256 * 1024


class UpstreamConnectError(ConnectionError):
    """Connecting failed or timed out: nothing reached the server."""


class UpstreamReadTimeout(TimeoutError):
    """The server sent nothing for the read timeout; it may still be working on the request."""


class UpstreamDisconnected(ConnectionError):
    """The connection closed, reset or sent an unreadable answer before the response ended."""


class _Connection(asyncio.Protocol):
    """One connection; httptools calls the `on_*` methods while `data_received` feeds it."""

    def __init__(self, origin: _Origin) -> None:
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self.streaming = False  # set while a stream is read by lines: back-pressure applies
        self.reset()

    def reset(self) -> None:
        self.status = 0
        self.received = 0
        self.head_done = False
        self.complete = False
        self.keep_alive = False
        self.body = bytearray()

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamDisconnected(f"unreadable HTTP from {self.origin.name}: {exc}"))
            self.close()
            return
        transport = self.transport
        if self.streaming and len(self.body) > STREAM_BUFFER_BYTES and not self._paused:
            assert transport is not None  # data arrives only once connected
            self._paused = True
            transport.pause_reading()
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.origin.forget(self)
        if not self.complete:
            reason = f": {exc}" if exc else ""
            self._fail(UpstreamDisconnected(f"{self.origin.name} closed the connection{reason}"))

    # -- httptools callbacks
    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True

    # -- used by the client and its responses
    def send(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def take_body(self) -> bytes:
        data = bytes(self.body)
        self.body.clear()
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    async def wait(self, timeout: float) -> None:
        """Until more bytes arrive (or the connection fails); at most `timeout` seconds."""
        if self._error is not None:
            raise self._error
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, self._timed_out, waiter, timeout)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _timed_out(self, waiter: asyncio.Future[None], timeout: float) -> None:
        if not waiter.done():
            message = f"{self.origin.name} sent nothing for {timeout:g}s"
            waiter.set_exception(UpstreamReadTimeout(message))

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, error: BaseException) -> None:
        self._error = error
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)


class _Origin:
    """One server's address, its idle connections (most recently used last) and the request
    heads already built for it."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamConnectError(f"not an http(s) URL: {base_url}")
        self.name = base_url
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl: ssl.SSLContext | None = (
            ssl.create_default_context() if parts.scheme == "https" else None
        )
        self.prefix = parts.path.rstrip("/")
        self.host_header = parts.netloc
        self.idle: list[_Connection] = []
        self.heads: dict[tuple[str, str, str | None, str], bytes] = {}

    def head(
        self, method: str, path: str, api_key: str | None, content_type: str = "application/json"
    ) -> bytes:
        key = (method, path, api_key, content_type)
        head = self.heads.get(key)
        if head is None:
            lines = [
                f"{method} {self.prefix}{path} HTTP/1.1",
                f"Host: {self.host_header}",
                f"Content-Type: {content_type}",
                "Accept: application/json, text/event-stream",
            ]
            if api_key:
                lines.append(f"Authorization: Bearer {api_key}")
            head = self.heads[key] = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        return head

    def forget(self, connection: _Connection) -> None:
        if connection in self.idle:
            self.idle.remove(connection)


class UpstreamResponse:
    """A response whose head has arrived: `status`, then the body by `read()` or, for a
    stream, by lines from `content`. Either reading to the end or `release()` returns the
    connection to the pool when it may be reused; `close()` drops it."""

    __slots__ = ("_client", "_conn", "status")

    def __init__(self, client: UpstreamClient, connection: _Connection) -> None:
        self._client = client
        self._conn: _Connection | None = connection
        self.status = connection.status

    async def read(self) -> bytes:
        conn = self._connection()
        try:
            while not conn.complete:
                await conn.wait(self._client.read_timeout)
        except BaseException:
            self.close()
            raise
        body = conn.take_body()
        self.release()
        return body

    @property
    def content(self) -> AsyncIterator[bytes]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[bytes]:
        conn = self._connection()
        conn.streaming = True
        pending = b""
        while True:
            chunk = conn.take_body()
            if chunk:
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    yield line + b"\n"
            elif conn.complete:
                break
            else:
                await conn.wait(self._client.read_timeout)
        if pending:
            yield pending

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._client.recycle(conn)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _connection(self) -> _Connection:
        if self._conn is None:
            raise UpstreamDisconnected("the response was already released")
        return self._conn


class UpstreamClient:
    def __init__(self, *, connect_timeout: float, read_timeout: float) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._origins: dict[str, _Origin] = {}

    async def close(self) -> None:
        for origin in self._origins.values():
            for connection in list(origin.idle):
                connection.close()
            origin.idle.clear()
        self._origins.clear()

    async def post(
        self,
        server: UpstreamServer,
        path: str,
        body: bytes,
        request_id: str,
        *,
        close: bool,
        content_type: str = "application/json",
    ) -> UpstreamResponse:
        """The response once its head has arrived. `close`: close the connection after the
        response instead of pooling it. llama-server closes the connection after a streamed
        response while announcing keep-alive, so a stream's connection must not go back."""
        extra = f"X-Request-Id: {request_id}\r\nContent-Length: {len(body)}\r\n"
        if close:
            extra += "Connection: close\r\n"
        tail = extra.encode() + b"\r\n" + body
        return await self._request(server, "POST", path, tail, content_type)

    async def get_json(self, server: UpstreamServer, path: str, timeout: float) -> tuple[int, Any]:
        return await self._json(server, "GET", path, b"", timeout)

    async def post_json(
        self, server: UpstreamServer, path: str, payload: Any, timeout: float
    ) -> tuple[int, Any]:
        return await self._json(server, "POST", path, orjson.dumps(payload), timeout)

    async def _json(
        self, server: UpstreamServer, method: str, path: str, body: bytes, timeout: float
    ) -> tuple[int, Any]:
        tail = f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        async with asyncio.timeout(timeout):
            response = await self._request(server, method, path, tail)
            raw = await response.read()
        try:
            return response.status, orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            return response.status, None

    async def _request(
        self,
        server: UpstreamServer,
        method: str,
        path: str,
        tail: bytes,
        content_type: str = "application/json",
    ) -> UpstreamResponse:
        origin = self._origin(server.base_url)
        head = origin.head(method, path, server.api_key, content_type)
        conn = self._pooled(origin) or await self._connect(origin)
        try:
            conn.send(head + tail)
            while not conn.head_done:
                await conn.wait(self.read_timeout)
        except BaseException:
            conn.close()
            raise
        return UpstreamResponse(self, conn)

    def recycle(self, conn: _Connection) -> None:
        """Back to the pool if the response ended cleanly and the server keeps it open."""
        if conn.closed or not conn.complete or not conn.keep_alive or conn.body:
            conn.close()
            return
        conn.parser = httptools.HttpResponseParser(conn)
        conn.reset()
        conn.idle_since = time.monotonic()
        conn.origin.idle.append(conn)

    def _origin(self, base_url: str) -> _Origin:
        origin = self._origins.get(base_url)
        if origin is None:
            origin = self._origins[base_url] = _Origin(base_url)
        return origin

    def _pooled(self, origin: _Origin) -> _Connection | None:
        idle = origin.idle
        while idle:
            conn = idle.pop()
            if conn.closed or time.monotonic() - conn.idle_since > KEEPALIVE_SECONDS:
                conn.close()
                continue
            return conn
        return None

    async def _connect(self, origin: _Origin) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(origin),
                    origin.host,
                    origin.port,
                    ssl=origin.ssl,
                    server_hostname=origin.host if origin.ssl else None,
                )
        except TimeoutError:
            raise UpstreamConnectError(
                f"connecting to {origin.name} took over {self.connect_timeout:g}s"
            ) from None
        except OSError as exc:
            raise UpstreamConnectError(f"cannot connect to {origin.name}: {exc}") from exc
        return conn
