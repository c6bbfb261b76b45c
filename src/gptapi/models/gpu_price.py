from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow


class GpuPriceRow(Base):
    """The GPU price list of custom pods, per GPU-hour in Community and Secure Cloud, edited by
    operators. A pod is priced when it is created; a change applies to later pods."""

    __tablename__ = "gpu_prices"

    gpu_type: Mapped[str] = mapped_column(String(100), primary_key=True)
    memory_gb: Mapped[int] = mapped_column(Integer)
    community_nanos_per_hour: Mapped[int] = mapped_column(BigInteger)
    secure_nanos_per_hour: Mapped[int] = mapped_column(BigInteger)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
