"""HTTP client for llama-server upstreams, with a timeout on every hop."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from gptapi.gateway.upstream.registry import UpstreamServer


class UpstreamClient:
    def __init__(self, *, connect_timeout: float, read_timeout: float) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=60, enable_cleanup_closed=True)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self._connect_timeout, sock_read=self._read_timeout
                ),
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
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
        self, server: UpstreamServer, path: str, body: bytes, request_id: str
    ) -> aiohttp.ClientResponse:
        return await self.session.post(
            server.base_url + path, data=body, headers=self.headers(server, request_id)
        )

    async def get_json(self, server: UpstreamServer, path: str, timeout: float) -> tuple[int, Any]:
        async with self.session.get(
            server.base_url + path,
            headers=self.headers(server),
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            raw = await response.read()
            try:
                return response.status, orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                return response.status, None

    async def post_json(
        self, server: UpstreamServer, path: str, payload: Any, timeout: float
    ) -> tuple[int, Any]:
        async with self.session.post(
            server.base_url + path,
            data=orjson.dumps(payload),
            headers=self.headers(server),
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            raw = await response.read()
            try:
                return response.status, orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                return response.status, None
