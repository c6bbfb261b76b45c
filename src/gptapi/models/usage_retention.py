from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime


class UsageRetention(Base):
    """From when a table's raw rows are all still there: rows older than `kept_from` may have
    been removed by retention (their hours live on in `usage_hourly`, their money in the
    ledger). Only ever moves forward; reconcile compares raw rows with the books from here."""

    __tablename__ = "usage_retention"

    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    kept_from: Mapped[datetime] = mapped_column(UTCDateTime)
