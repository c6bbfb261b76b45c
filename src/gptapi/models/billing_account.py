from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow


class BillingAccount(Base):
    """An organisation's payment settings: its Stripe customer, saved card and auto-refill."""

    __tablename__ = "billing_accounts"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id"), primary_key=True
    )
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100), unique=True, default=None)
    # The card saved for off-session charges, with who agreed to them and when.
    payment_method_id: Mapped[str | None] = mapped_column(String(100), default=None)
    payment_method_label: Mapped[str] = mapped_column(String(100), default="")
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    consent_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"), default=None)
    auto_refill_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_refill_threshold_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    auto_refill_amount_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    auto_refill_monthly_cap_nanos: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Why auto-refill was switched off by the platform (a decline, authentication needed).
    auto_refill_disabled_reason: Mapped[str] = mapped_column(String(300), default="")
    # A refill is in flight while this is set; claimed by a conditional update so two
    # workers never charge at once. `refill_seq` makes the Stripe idempotency key.
    refill_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    refill_seq: Mapped[int] = mapped_column(Integer, default=0)
    # NULL: the platform default (LOW_BALANCE_THRESHOLD_USD).
    low_balance_threshold_nanos: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # ok | low | depleted: the last state the owners were told about.
    balance_state: Mapped[str] = mapped_column(String(20), default="ok")
    # "low" once owners were told the balance covers less than an hour of what runs; back
    # to "ok" when it covers an hour again (or nothing runs), so each episode warns once.
    runway_state: Mapped[str] = mapped_column(String(20), default="ok", server_default="ok")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
