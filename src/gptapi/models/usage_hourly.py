from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime


class UsageHourly(Base):
    """usage_logs summed per organisation, key, model and UTC hour.

    Written in the same transaction as the usage rows it sums (the gateway's usage batches),
    so it always agrees with them; usage reports over whole hours read this instead of
    millions of request rows.
    """

    __tablename__ = "usage_hourly"

    # Key order: (organisation, hour) first, so the primary key serves range scans.
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("api_keys.id"), primary_key=True)
    model_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("models.id"), primary_key=True
    )
    requests: Mapped[int] = mapped_column(BigInteger)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger)
    completion_tokens: Mapped[int] = mapped_column(BigInteger)
    characters: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    audio_seconds: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    cost_nanos: Mapped[int] = mapped_column(BigInteger)
    images: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
