from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, new_uuid, utcnow

# The seed's subscription_status enum. Stripe's other states are folded in: incomplete and
# paused subscriptions have not been paid (unpaid), incomplete_expired ones never started
# (canceled).
SUBSCRIPTION_STATUSES = ("active", "trialing", "past_due", "canceled", "unpaid")


class Subscription(Base):
    """A monthly plan on Stripe Billing: included credit each period, higher key limits.

    The row mirrors the Stripe Subscription as last read from Stripe; `past_due_since` starts
    the grace period during which a failed renewal keeps the plan's benefits."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('active', 'trialing', 'past_due', 'canceled', 'unpaid')",
            name="status_known",
        ),
        Index("ix_subscriptions_org_created", "organization_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organizations.id"))
    # Who subscribed (the seed's owner of the row, for its "view own" policy).
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    stripe_subscription_id: Mapped[str | None] = mapped_column(
        String(255), unique=True, default=None
    )
    plan: Mapped[str] = mapped_column(String(50))
    stripe_price_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))
    current_period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    current_period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the last renewal failed (status past_due); the owners were mailed once for it.
    past_due_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, onupdate=utcnow)
