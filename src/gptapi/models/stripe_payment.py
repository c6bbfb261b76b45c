from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow

# open → processing (async methods) → paid; or failed / expired. Never moves backwards.
PAYMENT_STATUSES = ("open", "processing", "paid", "failed", "expired")


class StripePayment(Base):
    """A top-up through Stripe Checkout, or an off-session auto-refill charge."""

    __tablename__ = "stripe_payments"
    __table_args__ = (Index("ix_stripe_payments_org_created", "organization_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(20))  # topup | auto_refill
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="open")
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    receipt_url: Mapped[str] = mapped_column(String(1000), default="")
    failure_message: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
