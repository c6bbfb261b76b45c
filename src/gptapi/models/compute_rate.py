from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow

# Pod storage, per GB and hour, in nano-dollars.
STORAGE_PER_GB_HOUR = "storage_per_gb_hour"


class ComputeRate(Base):
    """A GPU cloud rate that is not per GPU type (today: pod storage per GB-hour)."""

    __tablename__ = "compute_rates"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    nanos: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
