"""Active health checks: `/health` decides health (503 while loading), `/props` the capacity.

An image server (stable-diffusion.cpp's `sd-server`) has neither: it answers `/v1/models`
once its model is loaded, and generates one request at a time (one slot, the default)."""

from __future__ import annotations

import asyncio
import logging

from gptapi.gateway.upstream.client import UpstreamClient
from gptapi.gateway.upstream.registry import UpstreamRegistry, UpstreamServer

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0


class HealthChecker:
    def __init__(self, registry: UpstreamRegistry, client: UpstreamClient, interval: float) -> None:
        self._registry = registry
        self._client = client
        self._interval = interval

    async def check(self, server: UpstreamServer) -> bool:
        try:
            status, _ = await self._client.get_json(server, "/health", PROBE_TIMEOUT)
            if status == 404:
                return await self._check_image_server(server)
            if status != 200:
                self._mark(server, False, f"/health answered {status}")
                return False
            status, props = await self._client.get_json(server, "/props", PROBE_TIMEOUT)
        except OSError as exc:
            self._mark(server, False, f"{type(exc).__name__}: {exc}")
            return False
        slots, n_ctx = _capacity(props) if status == 200 else (None, None)
        if status == 200 and isinstance(props, dict):
            server.modalities = _modalities(props)
        if not server.healthy:
            # The model's size does not change while a server stays up: read once it is.
            server.n_embd = await self._embedding_length(server)
            log.info("upstream %s is healthy (slots=%s, n_ctx=%s)", server.base_url, slots, n_ctx)
        self._registry.set_health(server, True, slots=slots, n_ctx=n_ctx)
        return True

    async def _check_image_server(self, server: UpstreamServer) -> bool:
        status, _ = await self._client.get_json(server, "/v1/models", PROBE_TIMEOUT)
        if status != 200:
            self._mark(server, False, f"/health and /v1/models answered 404 and {status}")
            return False
        if not server.healthy:
            log.info("upstream %s (an image server) is healthy", server.base_url)
        self._registry.set_health(server, True)
        return True

    async def _embedding_length(self, server: UpstreamServer) -> int | None:
        try:
            status, models = await self._client.get_json(server, "/v1/models", PROBE_TIMEOUT)
        except OSError:
            return None
        data = models.get("data") if status == 200 and isinstance(models, dict) else None
        meta = (
            data[0].get("meta")
            if isinstance(data, list) and data and isinstance(data[0], dict)
            else None
        )
        n_embd = meta.get("n_embd") if isinstance(meta, dict) else None
        return n_embd if isinstance(n_embd, int) and n_embd > 0 else None

    def _mark(self, server: UpstreamServer, healthy: bool, reason: str) -> None:
        if server.healthy:
            log.warning("upstream %s is unhealthy: %s", server.base_url, reason)
        server.last_error = reason
        self._registry.set_health(server, healthy)

    async def check_all(self) -> None:
        await asyncio.gather(*(self.check(s) for s in self._registry.servers))

    async def run(self) -> None:
        while True:
            await self.check_all()
            await asyncio.sleep(self._interval)


def _capacity(props: object) -> tuple[int | None, int | None]:
    if not isinstance(props, dict):
        return None, None
    slots = props.get("total_slots")
    settings = props.get("default_generation_settings")
    n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
    return (
        slots if isinstance(slots, int) and slots > 0 else None,
        n_ctx if isinstance(n_ctx, int) and n_ctx > 0 else None,
    )


def _modalities(props: dict[str, object]) -> frozenset[str]:
    """`/props` `modalities`, e.g. `{"vision": true, "audio": false}`; older builds say nothing."""
    modalities = props.get("modalities")
    if not isinstance(modalities, dict):
        return frozenset()
    return frozenset(name for name, on in modalities.items() if on is True)
