from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow

SERVER_STATES = ("active", "draining")


class Server(Base):
    """An upstream llama-server in a model's pool. One URL may serve several pools."""

    __tablename__ = "servers"
    __table_args__ = (UniqueConstraint("model_name", "base_url"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(100), index=True)
    base_url: Mapped[str] = mapped_column(String(500))
    # Bearer key the upstream expects (llama-server --api-key). Needed in clear to call it.
    api_key: Mapped[str | None] = mapped_column(String(500), default=None)
    state: Mapped[str] = mapped_column(String(20), default="active")
    source: Mapped[str] = mapped_column(String(20), default="admin")  # admin | config | local
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
