from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow

# new → pending (seen on chain) → confirmed | resolved (credited); or expired, failed,
# underpaid, delayed (paid after expiry) — the last two may still be resolved.
CRYPTO_STATUSES = (
    "new",
    "pending",
    "confirmed",
    "resolved",
    "expired",
    "failed",
    "underpaid",
    "delayed",
)


class CryptoCharge(Base):
    """A crypto top-up through a Coinbase Commerce charge."""

    __tablename__ = "crypto_charges"
    __table_args__ = (Index("ix_crypto_charges_org_created", "organization_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organizations.id"))
    charge_id: Mapped[str] = mapped_column(String(100), unique=True)
    code: Mapped[str] = mapped_column(String(50))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    # Local (USD) value of what arrived on chain, and what was credited for it.
    received_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    credited_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(20), default="new")
    hosted_url: Mapped[str] = mapped_column(String(1000), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
