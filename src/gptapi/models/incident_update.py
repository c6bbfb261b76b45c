from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow


class IncidentUpdate(Base):
    """A timestamped note on an incident and the status it moved to."""

    __tablename__ = "incident_updates"
    __table_args__ = (
        CheckConstraint(
            "status_at_update IN ('investigating', 'identified', 'monitoring', 'resolved')",
            name="status_known",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("incidents.id", ondelete="CASCADE"),
        index=True,
    )
    description: Mapped[str] = mapped_column(String(5000))
    status_at_update: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
