from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow

KINDS = (
    "usage",
    "grant",
    "welcome",
    "topup",
    "auto_refill",
    "crypto",
    "plan_credit",
    "refund",
    "adjustment",
    "compute",  # per-second charges of running deployments
    "pod",  # per-second charges of running custom pods (their GPUs)
    "storage",  # per-second charges of custom pods' volumes, running or stopped
)


class CreditTransaction(Base):
    """The append-only credit ledger; an organisation's balance is the sum of its rows."""

    __tablename__ = "credit_transactions"
    __table_args__ = (Index("ix_credit_transactions_org_created", "organization_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organizations.id"))
    amount_nanos: Mapped[int] = mapped_column(BigInteger)  # positive credits, negative debits
    kind: Mapped[str] = mapped_column(String(20))
    # Request id, Stripe event id, operator grant id…: replays never move money twice.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
