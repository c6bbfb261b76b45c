from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base


class WebhookCursor(Base):
    """How far the worker has turned another table into events (usage_logs.id for
    usage.created, the last closed UTC day's ordinal for usage.daily). Advanced with a
    compare-and-set so two workers cannot both emit the same range."""

    __tablename__ = "webhook_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
