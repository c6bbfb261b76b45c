"""The embedded provider: llama.cpp servers run as child processes of this platform, with
the SmolLM2 model the shared pools use. It runs models, never containers."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import subprocess
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from gptapi.compute.provider import (
    InstanceState,
    InstanceStatus,
    UnsupportedWorkload,
    Workload,
)
from gptapi.inference.launcher import free_port, spawn_child

log = logging.getLogger(__name__)

# The one model a local instance can serve: the GGUF shipped with the platform.
LOCAL_MODEL = "smollm2-135m"
_METRIC_LINE = re.compile(r"^(llamacpp:[a-z_]+)\s+([0-9.eE+-]+)$")


@dataclass
class _Instance:
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None
    stopped: bool = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class LocalProvider:
    name = "local"

    def __init__(
        self, log_dir: Path, *, parallel: int = 2, ctx_per_slot: int = 2048, threads: int = 0
    ) -> None:
        self.log_dir = log_dir
        self.parallel = parallel
        self.ctx_per_slot = ctx_per_slot
        self.threads = threads
        self._instances: dict[str, _Instance] = {}

    async def start(self, workload: Workload) -> str:
        if workload.image:
            raise UnsupportedWorkload(
                "the local provider runs llama.cpp models only, not containers; "
                "configure a container provider (RUNPOD_API_KEY) for custom images"
            )
        if workload.model != LOCAL_MODEL:
            raise UnsupportedWorkload(f"the local provider cannot serve model {workload.model!r}")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        # The port is part of the id, so another process on this host (the API beside a
        # separate worker) can read the instance's metrics from its id alone.
        instance_id = f"local-{port}-{secrets.token_hex(4)}"
        log_path = self.log_dir / f"{instance_id}.log"
        process = spawn_child(
            port=port,
            aliases=(workload.name,),
            log_path=log_path,
            parallel=self.parallel,
            ctx_per_slot=self.ctx_per_slot,
            threads=self.threads,
        )
        self._instances[instance_id] = _Instance(port, log_path, process)
        return instance_id

    async def state(self, instance_id: str) -> InstanceStatus:
        instance = self._instances.get(instance_id)
        if instance is None:
            # Children die with the process that started them: after a restart, gone.
            return InstanceStatus(InstanceState.MISSING, reason="not running on this host")
        if instance.stopped:
            return InstanceStatus(InstanceState.STOPPED)
        process = instance.process
        if process is not None and process.poll() is not None:
            return InstanceStatus(
                InstanceState.EXITED,
                reason=f"llama.cpp server exited with status {process.returncode}",
            )
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(
                    instance.base_url + "/health", timeout=aiohttp.ClientTimeout(total=2)
                ) as response,
            ):
                healthy = response.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError):
            healthy = False
        # Running is not ready: only a 200 from /health is (503 while the model loads).
        state = InstanceState.RUNNING if healthy else InstanceState.STARTING
        return InstanceStatus(state, url=instance.base_url)

    def url(self, instance_id: str) -> str | None:
        instance = self._instances.get(instance_id)
        return instance.base_url if instance is not None and not instance.stopped else None

    async def logs(self, instance_id: str, tail: int = 200) -> list[str]:
        path = self.log_dir / f"{instance_id}.log"
        if _port_of(instance_id) is None or not path.is_file():
            return []
        with path.open(errors="replace") as file:
            return [line.rstrip("\n") for line in deque(file, maxlen=tail)]

    async def metrics(self, instance_id: str) -> dict[str, float]:
        """llama.cpp's own Prometheus counters (tokens, requests in flight…)."""
        instance = self._instances.get(instance_id)
        if instance is not None and instance.stopped:
            return {}
        port = _port_of(instance_id)
        if port is None:
            return {}
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(
                    f"http://127.0.0.1:{port}/metrics", timeout=aiohttp.ClientTimeout(total=2)
                ) as response,
            ):
                if response.status != 200:
                    return {}
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError, OSError):
            return {}
        values: dict[str, float] = {}
        for line in text.splitlines():
            match = _METRIC_LINE.match(line.strip())
            if match:
                values[match.group(1).removeprefix("llamacpp:")] = float(match.group(2))
        return values

    async def stop(self, instance_id: str) -> None:
        # A llama.cpp child has no storage to keep: stopping it is ending the process.
        instance = self._instances.get(instance_id)
        if instance is None:
            return
        await asyncio.to_thread(_end, instance.process)
        instance.process = None
        instance.stopped = True

    async def terminate(self, instance_id: str) -> None:
        instance = self._instances.pop(instance_id, None)
        if instance is not None:
            await asyncio.to_thread(_end, instance.process)

    async def close(self) -> None:
        """End every child (platform shutdown)."""
        for instance_id in list(self._instances):
            await self.terminate(instance_id)


def _port_of(instance_id: str) -> int | None:
    parts = instance_id.split("-")
    if len(parts) != 3 or parts[0] != "local" or not parts[1].isdigit():
        return None
    return int(parts[1])


def _end(process: subprocess.Popen[bytes] | None, grace: float = 5.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
