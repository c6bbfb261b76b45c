"""Request and response bodies of the GPU cloud endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gptapi.compute.catalog import Category
from gptapi.compute.prices import Cloud

DeploymentState = Literal[
    "idle", "pending", "starting", "ready", "stopping", "stopped", "failed", "deleting", "deleted"
]
DeploymentMode = Literal["always_on", "serverless"]
# What clients send as `model` on /v1: lower case, digits, dots, dashes, underscores.
DeploymentName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]


class CatalogEntryOut(BaseModel):
    slug: str
    name: str
    category: Category
    description: str
    provider: str = Field(description="The compute provider that runs it: local or runpod.")
    deployable: bool = Field(description="Its provider is configured on this platform.")
    gpu_type: str
    gpu_count: int
    storage_gb: int = Field(description="Storage included in the price.")
    price_per_hour: str = Field(description="USD per hour, GPU and storage included.")
    price_nanos_per_hour: int
    billing: str = "Billed per second, one-minute minimum per start."
    image: str | None = Field(description="The container a container provider runs.")
    args: list[str]


class CategoryOut(BaseModel):
    id: Category
    count: int


class DeploymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    catalog_slug: str = Field(max_length=100, description="What to deploy: a catalog slug.")
    name: DeploymentName | None = Field(
        default=None, description="The `model` name on /v1; defaults to the catalog slug."
    )
    mode: DeploymentMode = "always_on"
    min_replicas: int = Field(default=1, ge=0, le=10)
    max_replicas: int = Field(
        default=1, ge=1, le=10, description="Scale-out adds replicas up to this many."
    )
    idle_timeout_seconds: int = Field(
        default=300, ge=60, le=86_400, description="Serverless: idle time before scaling down."
    )


class DeploymentOut(BaseModel):
    id: str
    name: str
    catalog_slug: str
    provider: str
    mode: DeploymentMode
    min_replicas: int
    max_replicas: int
    replicas: int = Field(description="Replicas ready now, serving requests.")
    replicas_starting: int = Field(description="Replicas scale-out is starting.")
    idle_timeout_seconds: int
    last_request_at: datetime | None = Field(
        description="The last request the gateway saw for it (scaling reads this)."
    )
    state: DeploymentState
    state_reason: str
    gpu_type: str
    gpu_count: int
    price_per_hour: str
    price_nanos_per_hour: int
    api_base: str = Field(description="Call it here with `model` set to its name.")
    created_at: datetime
    ready_at: datetime | None
    cold_start_seconds: float | None = Field(
        description="The last measured cold start: start asked to ready, of the instance "
        "(the deployment's own or an added replica) that became ready last."
    )
    runtime_seconds: int = Field(description="Billed running time over every start.")
    cost_nanos: int = Field(description="Charged so far, over every start.")
    key_prefix: str | None = Field(
        description="The first characters of its working sk_dep_ key; null while it has none."
    )


class DeploymentKey(BaseModel):
    key_id: uuid.UUID
    prefix: str
    secret: str = Field(
        description="The sk_dep_ key itself, shown once: inference on this deployment only."
    )


class InstanceLogs(BaseModel):
    """The tail of a deployment's server log or a pod's container log."""

    lines: list[str]


class DeploymentMetrics(BaseModel):
    requests_24h: int
    avg_latency_ms_24h: float | None
    completion_tokens_24h: int
    runtime_seconds: int
    cost_nanos: int
    provider: dict[str, float] = Field(description="What the provider reports, as it names it.")


class SeriesPoint(BaseModel):
    start: datetime = Field(description="The start of the hour (UTC).")
    requests: int
    avg_latency_ms: float | None = Field(description="None in an hour without requests.")
    completion_tokens: int
    tokens_per_second: float | None = Field(
        description="Completion tokens over the requests' total time in the hour."
    )


class DeploymentSeries(BaseModel):
    bucket_seconds: int = 3600
    points: list[SeriesPoint] = Field(description="The last 24 hours, oldest first.")
    replicas: int = Field(description="Replicas ready now.")
    uptime_seconds: int | None = Field(
        description="Since it last became ready; None while it does not run."
    )
    gpu_util_percent: float | None = Field(
        description="GPU utilisation now, averaged over its GPUs, where the provider reports "
        "it (RunPod); None elsewhere (the local provider runs on the CPU)."
    )


# A registry path, optional tag and digest: no spaces, quotes or shell metacharacters.
Image = Annotated[
    str,
    Field(
        max_length=255,
        pattern=r"^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]{1,128})?(@sha256:[a-f0-9]{64})?$",
        examples=["pytorch/pytorch:2.1.0-cuda12.1-cudnn8-runtime"],
    ),
]
MIN_VOLUME_GB = 10
Port = Annotated[str, Field(pattern=r"^[0-9]{1,5}/(http|tcp)$", examples=["8888/http"])]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
EnvValue = Annotated[str, Field(max_length=4096, pattern=r"^[^\x00-\x1f\x7f]*$")]


class PodSpec(BaseModel):
    """A custom pod: your container on a GPU."""

    model_config = ConfigDict(extra="forbid")

    image: Image
    gpu_type: str = Field(max_length=100, description="See GET /api/compute/gpus.")
    gpu_count: Literal[1, 2, 4, 8] = 1
    cloud_type: Cloud = Cloud.COMMUNITY
    storage_gb: int = Field(
        default=50, ge=0, le=2000, description="The volume: 0, or 10 to 2000 GB."
    )
    ports: list[Port] = Field(default_factory=lambda: ["8888/http", "22/tcp"], max_length=10)
    # Names outside the pattern are refused: say so in the schema too (patternProperties
    # alone would let a client believe any name is accepted).
    env: dict[EnvName, EnvValue] = Field(
        default_factory=dict, max_length=50, json_schema_extra={"additionalProperties": False}
    )

    @field_validator("storage_gb")
    @classmethod
    def _volume_size(cls, value: int) -> int:
        # A volume is at least 10 GB at RunPod; 0 is a pod without one.
        if 0 < value < MIN_VOLUME_GB:
            raise ValueError(f"a volume is 0 (none) or at least {MIN_VOLUME_GB} GB")
        return value


class GpuOut(BaseModel):
    gpu_type: str
    memory_gb: int
    community_per_hour: str
    secure_per_hour: str
    pods_available: bool = Field(
        description="A custom pod on this GPU can be created here: a container provider "
        "(RunPod) is configured."
    )


class PodEstimate(BaseModel):
    gpu_per_hour: str
    storage_per_hour: str
    per_hour: str
    per_day: str
    nanos_per_hour: int
    nanos_per_day: int
    billing: str = "Billed per second, one-minute minimum per start; storage also while stopped."


PodState = Literal[
    "pending", "starting", "running", "stopping", "stopped", "failed", "terminating", "terminated"
]
PodName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]


class PodCreate(PodSpec):
    name: PodName | None = Field(default=None, description="Defaults to the pod's id.")


class PodEndpointOut(BaseModel):
    port: int
    protocol: Literal["http", "tcp"]
    url: str | None = Field(description="HTTP ports: the provider's proxy URL.")
    ip: str | None = Field(description="TCP ports: the public IP, while running.")
    public_port: int | None


class PodConnection(BaseModel):
    ssh: str | None = Field(description="A ready-to-run ssh command (22/tcp).")
    jupyter: str | None = Field(description="Jupyter's URL (8888/http).")
    endpoints: list[PodEndpointOut]


class PodOut(BaseModel):
    id: str
    name: str
    provider: str
    image: str
    gpu_type: str
    gpu_count: int
    cloud_type: Cloud
    storage_gb: int
    ports: list[str]
    env_names: list[str] = Field(description="Its environment's names; values stay private.")
    state: PodState
    state_reason: str
    price: PodEstimate
    connection: PodConnection | None = Field(description="How to reach it, while it runs.")
    created_at: datetime
    ready_at: datetime | None = Field(description="When it first ran.")
    runtime_seconds: int = Field(description="Billed running time over every start.")
    gpu_cost_nanos: int = Field(description="Charged for its GPUs so far.")
    storage_cost_nanos: int = Field(description="Charged for its volume so far.")
    cost_nanos: int = Field(description="Charged so far, GPUs and storage.")
