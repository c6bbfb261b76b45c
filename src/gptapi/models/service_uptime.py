from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base


class ServiceUptimeDaily(Base):
    """One row per service per UTC day: how many samples saw each status, and latency sums.

    Ninety days of history for every service stays a few hundred rows."""

    __tablename__ = "service_uptime_daily"

    service_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    checks_total: Mapped[int] = mapped_column(Integer, default=0)
    checks_operational: Mapped[int] = mapped_column(Integer, default=0)
    checks_degraded: Mapped[int] = mapped_column(Integer, default=0)
    checks_partial: Mapped[int] = mapped_column(Integer, default=0)
    checks_major: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_samples: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms_max: Mapped[int] = mapped_column(Integer, default=0)


class ServiceLatencySample(Base):
    """Response time per service in fixed buckets (a few minutes), kept for a short horizon."""

    __tablename__ = "service_latency_samples"

    service_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    # Bucket start, seconds since the epoch (UTC): an integer keys the same on every backend.
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    latency_ms_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    samples: Mapped[int] = mapped_column(Integer, default=0)
