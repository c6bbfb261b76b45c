"""The compute providers this platform has, built from its settings."""

from __future__ import annotations

from gptapi.compute.local import LocalProvider
from gptapi.compute.provider import ComputeProvider
from gptapi.compute.runpod import RunPodProvider
from gptapi.config import Settings


def build_providers(settings: Settings) -> dict[str, ComputeProvider]:
    # The local provider needs no account: `make serve` shows the whole flow.
    local = LocalProvider(
        settings.data_dir / "compute-logs",
        parallel=settings.compute_local_parallel,
        ctx_per_slot=settings.local_ctx_per_slot,
        threads=settings.local_threads,
    )
    providers: dict[str, ComputeProvider] = {local.name: local}
    if settings.runpod_api_key:
        providers["runpod"] = RunPodProvider(
            settings.runpod_api_key,
            api_base=settings.runpod_api_base,
            proxy_url=settings.runpod_proxy_url,
            cloud=settings.runpod_cloud,
        )
    return providers
