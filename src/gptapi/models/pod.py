from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow
from gptapi.models.metered_run import MeteredRun

# pending → starting → running → stopping → stopped (the volume kept); failed (with a reason)
# from any of them; `terminating` ends the pod and its volume for good, then the row is kept
# as `terminated` for the books.
POD_STATES = (
    "pending",
    "starting",
    "running",
    "stopping",
    "stopped",
    "failed",
    "terminating",
    "terminated",
)
# A pod is billed in two kinds of runs: `gpu` while it runs (one per start), and `storage`
# from the first time it runs until it is terminated, running or stopped alike.
POD_RUN_KINDS = ("gpu", "storage")


class Pod(Base):
    """A custom container on GPUs for one organisation, billed per second."""

    __tablename__ = "pods"
    __table_args__ = (Index("ix_pods_org_created", "organization_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # pod_…
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(20))
    image: Mapped[str] = mapped_column(String(255))
    gpu_type: Mapped[str] = mapped_column(String(100))
    gpu_count: Mapped[int] = mapped_column(Integer)
    cloud_type: Mapped[str] = mapped_column(String(20))
    storage_gb: Mapped[int] = mapped_column(Integer)
    ports: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Environment values may hold the owner's secrets: kept like servers.api_key, never logged.
    env: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    gpu_nanos_per_hour: Mapped[int] = mapped_column(BigInteger)
    storage_nanos_per_hour: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    state_reason: Mapped[str] = mapped_column(String(500), default="")
    instance_id: Mapped[str | None] = mapped_column(String(100), default=None)
    # How to reach it while it runs (SSH command, Jupyter and port URLs), as the provider said.
    connection: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    start_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class PodRun(MeteredRun, Base):
    """One billed interval of a pod: its GPUs for one start, or its volume for its life."""

    __tablename__ = "pod_runs"

    pod_id: Mapped[str] = mapped_column(String(40), ForeignKey("pods.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # gpu | storage

    @property
    def ledger_kind(self) -> str:
        return "pod" if self.kind == "gpu" else "storage"

    def ledger_key(self, from_seconds: int, to_seconds: int) -> str:
        return f"pod:{self.id}:{from_seconds}-{to_seconds}"

    def ledger_description(self, from_seconds: int, to_seconds: int) -> str:
        what = "GPUs" if self.kind == "gpu" else "storage"
        return f"Pod {self.pod_id} {what}: seconds {from_seconds} to {to_seconds}"

    def charged_subject(self) -> dict[str, str]:
        return {"pod_id": self.pod_id, "charge": self.kind}
