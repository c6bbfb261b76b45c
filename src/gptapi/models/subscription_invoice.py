from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow


class SubscriptionInvoice(Base):
    """A paid Stripe invoice of a subscription and the included credit it granted (once:
    the ledger entry's key is `plan_credit:<invoice>`)."""

    __tablename__ = "subscription_invoices"
    __table_args__ = (Index("ix_subscription_invoices_org_paid", "organization_id", "paid_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organizations.id"))
    subscription_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("subscriptions.id"))
    stripe_invoice_id: Mapped[str] = mapped_column(String(255), unique=True)
    plan: Mapped[str] = mapped_column(String(50))
    amount_paid_cents: Mapped[int] = mapped_column(BigInteger)
    credit_nanos: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    hosted_invoice_url: Mapped[str] = mapped_column(String(1000), default="")
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
