"""The upstream HTTP/1.1 client against a raw TCP server that answers the way llama-server
does (keep-alive, chunked streams, closing after a stream while announcing keep-alive), and
against the ways a server can fail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from gptapi.gateway.upstream import client as client_module
from gptapi.gateway.upstream.client import (
    UpstreamClient,
    UpstreamConnectError,
    UpstreamDisconnected,
    UpstreamReadTimeout,
)
from gptapi.gateway.upstream.registry import UpstreamServer
from gptapi.inference.launcher import free_port

Answer = Callable[[bytes], Awaitable[list[bytes]]]  # request head → what to write, in order
CLOSE = b""  # in an answer: close the connection here


def json_answer(body: bytes, *, status: str = "200 OK") -> list[bytes]:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
    return [(head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body]


def chunked(*parts: bytes) -> list[bytes]:
    """A streamed answer as llama-server sends it: keep-alive announced, closed afterwards."""
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunks = [f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts]
    return [head, *chunks, b"0\r\n\r\n", CLOSE]


class RawServer:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.heads: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                self.heads.append(head)
                for part in await self.answer(head):
                    if part == CLOSE:
                        writer.close()
                        return
                    writer.write(part)
                    await writer.drain()
                    await asyncio.sleep(0.01)  # separate TCP segments, as a real stream
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@asynccontextmanager
async def serving(answer: Answer) -> AsyncIterator[tuple[RawServer, UpstreamServer]]:
    raw = RawServer(answer)
    server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield raw, UpstreamServer(f"http://127.0.0.1:{port}", api_key="upstream-key")
    finally:
        server.close()


def client(read_timeout: float = 5.0) -> UpstreamClient:
    return UpstreamClient(connect_timeout=2.0, read_timeout=read_timeout)


def test_keep_alive_reuses_one_connection_and_sends_the_head_once_built() -> None:
    async def scenario() -> None:
        async def answer(head: bytes) -> list[bytes]:
            return json_answer(b'{"ok": true}')

        async with serving(answer) as (raw, server):
            upstream = client()
            for index in range(3):
                response = await upstream.post(server, "/v1/x", b"{}", f"req_{index}", close=False)
                assert (response.status, await response.read()) == (200, b'{"ok": true}')
            assert await upstream.get_json(server, "/health", 2) == (200, {"ok": True})
            assert raw.connections == 1
            first = raw.heads[0].decode()
            assert first.startswith("POST /v1/x HTTP/1.1\r\n")
            assert "Authorization: Bearer upstream-key" in first
            assert "X-Request-Id: req_0" in first and "Content-Length: 2" in first
            await upstream.close()

    asyncio.run(scenario())


def test_a_stream_is_read_by_lines_and_its_connection_never_pooled() -> None:
    async def scenario() -> None:
        async def answer(head: bytes) -> list[bytes]:
            if head.startswith(b"GET"):
                return json_answer(b"{}")
            # a line split across chunks, and two events in one chunk
            return chunked(b'data: {"a"', b': 1}\n\ndata: {"b": 2}\n\n', b"data: [DONE]\n\n")

        async with serving(answer) as (raw, server):
            upstream = client()
            response = await upstream.post(server, "/v1/s", b"{}", "req_s", close=True)
            lines = [line async for line in response.content]
            response.close()
            events = (b'data: {"a": 1}\n', b'data: {"b": 2}\n', b"data: [DONE]\n")
            assert lines == [line for event in events for line in (event, b"\n")]
            assert b"Connection: close" in raw.heads[0]
            # The server closed it after the stream: the next request gets a new connection.
            assert (await upstream.get_json(server, "/health", 2))[0] == 200
            assert raw.connections == 2
            await upstream.close()

    asyncio.run(scenario())


def test_idle_connections_past_the_keep_alive_window_are_not_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client_module, "KEEPALIVE_SECONDS", 0.05)

    async def scenario() -> None:
        async def answer(head: bytes) -> list[bytes]:
            return json_answer(b"{}")

        async with serving(answer) as (raw, server):
            upstream = client()
            await upstream.get_json(server, "/health", 2)
            await asyncio.sleep(0.1)
            await upstream.get_json(server, "/health", 2)
            assert raw.connections == 2
            await upstream.close()

    asyncio.run(scenario())


def test_a_server_closing_an_idle_connection_takes_it_out_of_the_pool() -> None:
    async def scenario() -> None:
        async def answer(head: bytes) -> list[bytes]:
            # Answers, then closes while the client holds the connection idle.
            return [*json_answer(b"{}"), CLOSE]

        async with serving(answer) as (raw, server):
            upstream = client()
            for _ in range(3):
                assert (await upstream.get_json(server, "/health", 2))[0] == 200
                await asyncio.sleep(0.05)
            assert raw.connections == 3
            await upstream.close()

    asyncio.run(scenario())


def test_failures_are_named_for_what_the_caller_may_do() -> None:
    async def scenario() -> None:
        upstream = client(read_timeout=0.2)
        refused = UpstreamServer(f"http://127.0.0.1:{free_port()}")
        with pytest.raises(UpstreamConnectError):
            await upstream.post(refused, "/v1/x", b"{}", "r", close=False)

        async def silent(head: bytes) -> list[bytes]:
            await asyncio.sleep(5)
            return []

        async with serving(silent) as (_, server):
            with pytest.raises(UpstreamReadTimeout):
                await upstream.post(server, "/v1/x", b"{}", "r", close=False)

        async def garbage(head: bytes) -> list[bytes]:
            return [b"SMTP ready\r\n\r\n"]

        async with serving(garbage) as (_, server):
            with pytest.raises(UpstreamDisconnected):
                await upstream.post(server, "/v1/x", b"{}", "r", close=False)

        async def cut(head: bytes) -> list[bytes]:
            return [b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial', CLOSE]

        async with serving(cut) as (_, server):
            response = await upstream.post(server, "/v1/x", b"{}", "r", close=False)
            with pytest.raises(UpstreamDisconnected):
                await response.read()
        await upstream.close()

    asyncio.run(scenario())
