from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow


class Incident(Base):
    """Something wrong on the platform, opened by an operator or by the status monitor."""

    __tablename__ = "incidents"
    # Status and severity take the seed's incident_status and incident_severity enums.
    __table_args__ = (
        CheckConstraint(
            "status IN ('investigating', 'identified', 'monitoring', 'resolved')",
            name="status_known",
        ),
        CheckConstraint("severity IN ('critical', 'high', 'medium', 'low')", name="severity_known"),
        Index("ix_incidents_service_status", "service_id", "status"),
        Index("ix_incidents_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="investigating")
    severity: Mapped[str] = mapped_column(String(20), default="medium")
    # The service it affects, if one; automatic incidents always name theirs.
    service_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("services.id", ondelete="SET NULL"), default=None
    )
    # Opened by the status monitor, which also updates and resolves it.
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
