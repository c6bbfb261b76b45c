"""HTTP client for llama-server upstreams, with a timeout on every hop."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from gptapi.gateway.upstream.registry import UpstreamServer

# llama-server (cpp-httplib) closes a keep-alive connection after 5 s idle; reusing one it is
# closing fails the request, so idle connections are dropped before that.
KEEPALIVE_SECONDS = 4.0


class UpstreamClient:
    def __init__(self, *, connect_timeout: float, read_timeout: float) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=0, ttl_dns_cache=60, keepalive_timeout=KEEPALIVE_SECONDS
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self._connect_timeout, sock_read=self._read_timeout
                ),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @staticmethod
    def headers(server: UpstreamServer, request_id: str | None = None) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if server.api_key:
            headers["authorization"] = f"Bearer {server.api_key}"
        if request_id:
            headers["x-request-id"] = request_id
        return headers

    async def post(
        self, server: UpstreamServer, path: str, body: bytes, request_id: str, *, close: bool
    ) -> aiohttp.ClientResponse:
        """`close`: close the connection after the response instead of pooling it.
        llama-server closes the connection after a streamed response while announcing
        keep-alive, so a stream's connection must not go back to the pool."""
        headers = self.headers(server, request_id)
        if close:
            headers["connection"] = "close"
        return await self.session.post(server.base_url + path, data=body, headers=headers)

    async def get_json(self, server: UpstreamServer, path: str, timeout: float) -> tuple[int, Any]:
        return await self._json("GET", server, path, None, timeout)

    async def post_json(
        self, server: UpstreamServer, path: str, payload: Any, timeout: float
    ) -> tuple[int, Any]:
        return await self._json("POST", server, path, orjson.dumps(payload), timeout)

    async def _json(
        self, method: str, server: UpstreamServer, path: str, body: bytes | None, timeout: float
    ) -> tuple[int, Any]:
        async with self.session.request(
            method,
            server.base_url + path,
            data=body,
            headers=self.headers(server),
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            raw = await response.read()
            try:
                return response.status, orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                return response.status, None
