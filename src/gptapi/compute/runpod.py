"""RunPod pods through its REST API v2 (`/v2/pods`, `POST /v2/pods/{id}/action`; v1 was
retired in November 2026). Enabled by RUNPOD_API_KEY.

A pod is reached through RunPod's HTTP proxy, `https://{pod}-{port}.proxy.runpod.net`, and
its `tcp` ports on a public IP (`runtime.ports`). For a deployment, its `RUNNING` status only
means the container started: it is ready when `/health` answers 200 through the proxy
(llama-server answers 503 while it loads the model). A custom pod runs whatever its image
does, so RUNNING is as ready as RunPod can tell.

Errors come as `application/problem+json` (`title`, `status`, `detail`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from gptapi.compute.provider import (
    Connection,
    ContainerStatus,
    Endpoint,
    InstanceState,
    InstanceStatus,
    ProviderError,
    UnsupportedWorkload,
    Workload,
)

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.runpod.io"
DEFAULT_PROXY_URL = "https://{pod_id}-{port}.proxy.runpod.net"
CLOUDS = ("SECURE", "COMMUNITY")
# The container disk (wiped on every stop) each pod gets besides its volume; RunPod's own
# default size. The volume is what a pod's storage_gb buys.
CONTAINER_DISK_GB = 50
VOLUME_PATH = "/workspace"
JUPYTER_PORT = 8888


class RunPodProvider:
    name = "runpod"

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        proxy_url: str = DEFAULT_PROXY_URL,
        cloud: str = "SECURE",
        timeout: float = 30.0,
    ) -> None:
        self.api_key = api_key
        self.api_base = api_base.rstrip("/")
        self.proxy_url = proxy_url
        self.cloud = cloud
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        # Ports of the pods this process created or looked up: the proxy URL needs it.
        self._ports: dict[str, int] = {}
        self._stopped: set[str] = set()

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as session,
                session.request(
                    method, f"{self.api_base}/v2{path}", json=body, headers=headers
                ) as response,
            ):
                status = response.status
                text = await response.text()
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ProviderError(f"RunPod unreachable: {exc}", retryable=True) from exc
        try:
            payload: Any = json.loads(text) if text else None
        except ValueError:
            payload = None
        if status < 400 or status == 404:
            return status, payload
        message = _error_message(payload) or text[:200] or f"HTTP {status}"
        if status == 401:
            raise ProviderError(f"RunPod refused the API key (401): {message}")
        if status == 429:
            wait = f"; retry after {retry_after} s" if retry_after else ""
            raise ProviderError(f"RunPod rate limit (429){wait}", retryable=True)
        if status >= 500:
            raise ProviderError(f"RunPod error ({status}): {message}", retryable=True)
        raise ProviderError(f"RunPod refused the request ({status}): {message}", status=status)

    async def start(self, workload: Workload) -> str:
        if not workload.image:
            raise UnsupportedWorkload("RunPod runs containers: this workload has no image")
        if not workload.gpu_type or workload.gpu_count < 1:
            raise UnsupportedWorkload("a RunPod pod needs a GPU type and count")
        ports = list(workload.ports) or [f"{workload.port}/http"]
        body: dict[str, Any] = {
            "name": workload.name,
            "image": workload.image,
            "gpu": {"id": workload.gpu_type, "count": workload.gpu_count},
            "cloud": workload.cloud or self.cloud,
            "ports": ports,
            "env": dict(workload.env),
            # One string, as the container's command line; arguments never hold spaces.
            "args": " ".join(workload.args),
            "disk": CONTAINER_DISK_GB,
            "startSsh": "22/tcp" in ports,
            "startJupyter": f"{JUPYTER_PORT}/http" in ports,
        }
        if workload.volume_gb:
            body["mounts"] = {"persistent": {"size": workload.volume_gb, "path": VOLUME_PATH}}
        status, pod = await self._call("POST", "/pods", body)
        if status == 404 or not isinstance(pod, dict) or not isinstance(pod.get("id"), str):
            raise ProviderError(f"RunPod answered a pod creation with {status}: {pod!r}")
        pod_id: str = pod["id"]
        self._ports[pod_id] = workload.port
        return pod_id

    async def _pod(self, instance_id: str) -> dict[str, Any] | None:
        status, pod = await self._call("GET", f"/pods/{instance_id}")
        if status == 404 or not isinstance(pod, dict):
            return None
        port = _http_port(pod)
        if port is not None:
            self._ports[instance_id] = port
        return pod

    async def inspect(self, instance_id: str) -> ContainerStatus:
        pod = await self._pod(instance_id)
        status = None if pod is None else pod.get("status")
        if pod is None or status == "TERMINATED":
            return ContainerStatus(InstanceState.MISSING, reason="pod not found on RunPod")
        if status == "ERROR":
            return ContainerStatus(InstanceState.EXITED, reason="RunPod reports the pod in ERROR")
        if status == "EXITED":
            if instance_id in self._stopped:
                return ContainerStatus(InstanceState.STOPPED)
            return ContainerStatus(InstanceState.EXITED, reason="the pod exited on RunPod")
        if status != "RUNNING":
            return ContainerStatus(InstanceState.STARTING)
        return ContainerStatus(InstanceState.RUNNING, connection=self._connection(pod))

    def _connection(self, pod: dict[str, Any]) -> Connection:
        runtime = pod.get("runtime") or {}
        public = {
            p.get("private"): p
            for p in runtime.get("ports") or []
            if isinstance(p, dict) and p.get("type") == "tcp"
        }
        endpoints = []
        for entry in pod.get("ports") or []:
            number, _, protocol = str(entry).partition("/")
            if not number.isdigit():
                continue
            port = int(number)
            if protocol == "http":
                url = self.proxy_url.format(pod_id=pod["id"], port=port)
                endpoints.append(Endpoint(port, "http", url=url))
            elif protocol == "tcp":
                mapped = public.get(port) or {}
                endpoints.append(
                    Endpoint(port, "tcp", ip=mapped.get("ip"), public_port=mapped.get("public"))
                )
        ssh = pod.get("ssh") or {}
        way = ssh.get("direct") or ssh.get("proxy") or {}
        jupyter = next(
            (e.url for e in endpoints if e.protocol == "http" and e.port == JUPYTER_PORT), None
        )
        return Connection(tuple(endpoints), ssh=way.get("command"), jupyter=jupyter)

    async def state(self, instance_id: str) -> InstanceStatus:
        container = await self.inspect(instance_id)
        if container.state is not InstanceState.RUNNING:
            return InstanceStatus(
                container.state, url=self.url(instance_id), reason=container.reason
            )
        url = self.url(instance_id)
        if url is None:
            return InstanceStatus(InstanceState.STARTING)
        return InstanceStatus(
            InstanceState.RUNNING if await self._healthy(url) else InstanceState.STARTING, url=url
        )

    async def _healthy(self, url: str) -> bool:
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
                session.get(url + "/health") as response,
            ):
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    def url(self, instance_id: str) -> str | None:
        port = self._ports.get(instance_id)
        if port is None:
            return None
        return self.proxy_url.format(pod_id=instance_id, port=port)

    async def logs(self, instance_id: str, tail: int = 200) -> list[str]:
        status, payload = await self._call("GET", f"/pods/{instance_id}/logs")
        if status == 404 or not isinstance(payload, dict):
            return []
        lines = payload.get("container") or []
        return [str(line) for line in lines][-tail:]

    async def metrics(self, instance_id: str) -> dict[str, float]:
        pod = await self._pod(instance_id)
        runtime = (pod or {}).get("runtime") or {}
        values: dict[str, float] = {}
        if isinstance(runtime.get("uptime"), int | float):
            values["uptime_seconds"] = float(runtime["uptime"])
        gpus = [g for g in runtime.get("gpus") or [] if isinstance(g, dict)]
        utilisation = [g["util"] for g in gpus if isinstance(g.get("util"), int | float)]
        if utilisation:
            values["gpu_util_percent"] = sum(utilisation) / len(utilisation)
        return values

    async def _action(self, instance_id: str, action: str) -> None:
        try:
            await self._call("POST", f"/pods/{instance_id}/action", {"action": action})
        except ProviderError as exc:
            # 409: the pod's status does not allow it, because it is there already (a stop
            # of an exited pod, a start of a running one): done, as a retry should be.
            if exc.status != 409:
                raise

    async def stop(self, instance_id: str) -> None:
        # The volume is kept (and still billed by RunPod) until the pod is terminated.
        await self._action(instance_id, "stop")
        self._stopped.add(instance_id)

    async def resume(self, instance_id: str) -> None:
        await self._action(instance_id, "start")
        self._stopped.discard(instance_id)

    async def terminate(self, instance_id: str) -> None:
        await self._action(instance_id, "terminate")  # a pod already gone is a 404: fine
        self._ports.pop(instance_id, None)
        self._stopped.discard(instance_id)


def _error_message(payload: Any) -> str:
    if isinstance(payload, dict):
        detail = payload.get("detail")
        if isinstance(detail, str):
            return detail
    return ""


def _http_port(pod: dict[str, Any]) -> int | None:
    for port in pod.get("ports") or []:
        number, _, kind = str(port).partition("/")
        if kind == "http" and number.isdigit():
            return int(number)
    return None
