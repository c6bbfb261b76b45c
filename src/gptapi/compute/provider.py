"""What every compute provider does: run a workload, report its state, URL, logs and
metrics, stop it and terminate it. Deployments talk to providers only through this; custom
pods need a container provider, which can also start a stopped instance again (its volume
kept) and say how to connect to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable


class InstanceState(StrEnum):
    STARTING = "starting"  # created, not answering /health yet
    RUNNING = "running"  # /health answers 200: ready for requests
    STOPPED = "stopped"  # stopped by us; storage kept where the provider has any
    EXITED = "exited"  # died on its own
    MISSING = "missing"  # the provider does not know it (terminated, or lost in a restart)


@dataclass(frozen=True, slots=True)
class Workload:
    """What to run. `model` names a model the provider can serve by itself (the local
    provider's llama.cpp); `image` is a container, which only container providers run."""

    name: str
    model: str | None = None
    image: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    gpu_type: str | None = None
    gpu_count: int = 0
    port: int = 8080
    # Containers only. `ports` as `8888/http`, `22/tcp` (default: `port` over HTTP);
    # `cloud` None is the provider's default; the volume is kept while stopped.
    ports: tuple[str, ...] = ()
    cloud: str | None = None
    volume_gb: int = 0


@dataclass(frozen=True, slots=True)
class InstanceStatus:
    state: InstanceState
    url: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One way in: an HTTP port through the provider's proxy, or a TCP port on a public IP."""

    port: int
    protocol: str  # http | tcp
    url: str | None = None  # http: the proxy URL
    ip: str | None = None  # tcp: public address and port, once running
    public_port: int | None = None


@dataclass(frozen=True, slots=True)
class Connection:
    endpoints: tuple[Endpoint, ...] = ()
    ssh: str | None = None  # a ready-to-run `ssh …` command
    jupyter: str | None = None  # the Jupyter URL (8888 over HTTP)


@dataclass(frozen=True, slots=True)
class ContainerStatus:
    """A container as its provider reports it: RUNNING is the container up (a custom image
    has no health check of ours), with how to connect to it."""

    state: InstanceState
    reason: str = ""
    connection: Connection = field(default_factory=Connection)


class ProviderError(RuntimeError):
    """The provider failed (unreachable, refused, out of capacity); the message is for people.
    `retryable` failures (rate limits, its own errors, the network) are tried again later;
    the others (bad credentials, no capacity for that GPU) fail the deployment."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status  # the provider's HTTP status, where it answered one


class UnsupportedWorkload(ValueError):
    """This provider cannot run that workload at all: a client error, never a fake start."""


class ComputeProvider(Protocol):
    name: str

    async def start(self, workload: Workload) -> str:
        """Create and start an instance; returns its id. Raises UnsupportedWorkload or
        ProviderError."""
        ...

    async def state(self, instance_id: str) -> InstanceStatus: ...

    def url(self, instance_id: str) -> str | None: ...

    async def logs(self, instance_id: str, tail: int = 200) -> list[str]: ...

    async def metrics(self, instance_id: str) -> dict[str, float]: ...

    async def stop(self, instance_id: str) -> None: ...

    async def terminate(self, instance_id: str) -> None: ...


@runtime_checkable
class ContainerProvider(ComputeProvider, Protocol):
    """A provider that runs container images, and so custom pods."""

    async def inspect(self, instance_id: str) -> ContainerStatus: ...

    async def resume(self, instance_id: str) -> None:
        """Start a stopped instance again, on its kept volume."""
        ...


def container_provider(providers: dict[str, ComputeProvider]) -> ContainerProvider | None:
    """The provider custom pods run on, if this platform has one."""
    for provider in providers.values():
        if isinstance(provider, ContainerProvider):
            return provider
    return None
