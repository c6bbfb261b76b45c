from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, new_uuid, utcnow


class Organization(Base):
    """A tenant: keys, balance and usage belong to an organisation."""

    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200))
    is_personal: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The running sum of credit_transactions, updated in the same transaction as every
    # ledger insert; `gptapi admin reconcile` proves the two agree.
    balance_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    # Defaults for keys that carry no limits of their own; NULL means the platform default.
    default_rpm_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    default_tpm_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Deleted by its owner: members and keys are gone, the books stay.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
