from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow


class AuthAttempt(Base):
    """One counted attempt (a failed sign-in, a mail sent) against a throttle bucket. Kept in
    the database so limits hold across every replica of the API."""

    __tablename__ = "auth_attempts"
    __table_args__ = (Index("ix_auth_attempts_bucket_created", "bucket", "created_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    # SHA-256 of "<limit>:<subject>", so addresses and IPs are not kept in the clear.
    bucket: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
