from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow


class StatusSubscriber(Base):
    """Someone mailed about incidents: subscribed by address, confirmed by the mailed link
    (double opt-in), gone by the unsubscribe link every mail carries."""

    __tablename__ = "status_subscribers"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # SHA-256 of the token in the confirmation and unsubscribe links.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The newest incident update this subscriber has been mailed (or had when confirming).
    last_update_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), default=0
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
