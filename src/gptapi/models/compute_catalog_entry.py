from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow


class ComputeCatalogEntry(Base):
    """A deployable template of the GPU cloud's model catalog, edited by operators.

    A price change applies to deployments created or started from stopped after it; a
    deployment keeps the price it was started with (`deployments.price_nanos_per_hour`).
    A disabled entry is hidden and cannot be deployed; what runs from it keeps running."""

    __tablename__ = "compute_catalog_entries"

    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(30))
    provider: Mapped[str] = mapped_column(String(20))
    gpu_type: Mapped[str] = mapped_column(String(100))
    gpu_count: Mapped[int] = mapped_column(Integer)
    # GPU and the included storage, in one price.
    price_nanos_per_hour: Mapped[int] = mapped_column(BigInteger)
    storage_gb: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(500), default="")
    model: Mapped[str | None] = mapped_column(String(200), default=None)  # local provider
    image: Mapped[str | None] = mapped_column(String(255), default=None)  # container providers
    args: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    position: Mapped[int] = mapped_column(Integer, default=0)  # order in the catalog
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
