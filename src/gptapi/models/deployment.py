from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow
from gptapi.models.metered_run import MeteredRun

# pending → starting → ready → stopping → stopped; failed (with a reason) from any of them.
# `deleting` ends the instance for good, then the row is kept as `deleted` for the books.
# `idle`: a serverless deployment scaled to zero; nothing runs, nothing is charged, and the
# next request for it moves it to pending.
DEPLOYMENT_STATES = (
    "idle",
    "pending",
    "starting",
    "ready",
    "stopping",
    "stopped",
    "failed",
    "deleting",
    "deleted",
)
DEPLOYMENT_MODES = ("always_on", "serverless")


class Deployment(Base):
    """A catalog model deployed for one organisation, billed per second while it runs."""

    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_org_name", "organization_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # dep_…
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(100))  # the `model` clients send on /v1
    catalog_slug: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(20), default="always_on")
    min_replicas: Mapped[int] = mapped_column(Integer, default=1)
    max_replicas: Mapped[int] = mapped_column(Integer, default=1)
    idle_timeout_seconds: Mapped[int] = mapped_column(Integer, default=300)
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    state_reason: Mapped[str] = mapped_column(String(500), default="")
    instance_id: Mapped[str | None] = mapped_column(String(100), default=None)
    url: Mapped[str | None] = mapped_column(String(500), default=None)
    # The bearer key its server was started with (`llama-server --api-key`): a pod behind a
    # public proxy must refuse everyone but the gateway. Kept in clear, like servers.api_key.
    upstream_key: Mapped[str | None] = mapped_column(String(100), default=None)
    # The private model row its /v1 requests are recorded against (at zero token cost).
    model_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("models.id")
    )
    price_nanos_per_hour: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    start_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # What the gateway saw (it sees every request, whatever the provider): the last moment
    # a request for it arrived or was in flight, and since when every slot of every replica
    # has been taken (None while one is free). The worker scales by these.
    last_request_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    busy_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class DeploymentReplica(Base):
    """A replica added by scale-out, beside the deployment's own instance (`instance_id`).
    The row lives as long as the instance: `starting` until /health answers 200, then
    `ready` (in the deployment's pool, billed by a run of its own)."""

    __tablename__ = "deployment_replicas"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(String(40), ForeignKey("deployments.id"), index=True)
    instance_id: Mapped[str] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(500), default=None)
    state: Mapped[str] = mapped_column(String(20), default="starting")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class DeploymentRun(MeteredRun, Base):
    """One start of one instance of a deployment, from ready to stopped: the unit of
    per-second billing."""

    __tablename__ = "deployment_runs"

    deployment_id: Mapped[str] = mapped_column(String(40), ForeignKey("deployments.id"), index=True)
    # The instance whose running time it bills: each replica is billed on its own.
    instance_id: Mapped[str | None] = mapped_column(String(100), default=None)

    @property
    def ledger_kind(self) -> str:
        return "compute"

    def ledger_key(self, from_seconds: int, to_seconds: int) -> str:
        return f"compute:{self.id}:{from_seconds}-{to_seconds}"

    def ledger_description(self, from_seconds: int, to_seconds: int) -> str:
        return f"Deployment {self.deployment_id}: seconds {from_seconds} to {to_seconds}"

    def charged_subject(self) -> dict[str, str]:
        return {"deployment_id": self.deployment_id}
