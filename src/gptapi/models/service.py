from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow


class Service(Base):
    """A component on the public status page: the gateway, each model, the console, billing.

    The status monitor keeps these rows in step with what it measures; `key` is its stable
    handle ("gateway", "console", "billing", "model:<internal_name>")."""

    __tablename__ = "services"
    # Status takes the seed's service_status enum.
    __table_args__ = (
        CheckConstraint(
            "status IN ('operational', 'degraded_performance', 'partial_outage', 'major_outage')",
            name="status_known",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    status: Mapped[str] = mapped_column(String(30), default="operational")
    # Latency of the last probe, milliseconds; None when nothing answered.
    latency_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    # What the last sample saw (servers of a model's pool, error rate), for the status page.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # False once the model behind it is retired; kept so its history and incidents stay.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
