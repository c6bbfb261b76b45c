from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow


class CryptoEvent(Base):
    """Every Coinbase Commerce webhook event handled, so a redelivery is recognised."""

    __tablename__ = "crypto_events"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(50))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
