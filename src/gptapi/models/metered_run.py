"""What every per-second billed interval has, whatever runs in it: the columns the compute
meter reads and moves (see `gptapi.compute.billing`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import UTCDateTime


class MeteredRun:
    """One interval billed by the second at a fixed hourly price.

    `billed_seconds` moves forward in the same transaction as the ledger entry for the
    seconds it adds, so a restart resumes exactly where the books stop."""

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organizations.id"))
    price_nanos_per_hour: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The last moment what it bills for was known to exist: where a run lost in a crash ends.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    billed_seconds: Mapped[int] = mapped_column(Integer, default=0)
    charged_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    # How much of it `compute.charged` webhook events have reported so far: they batch a
    # run's charges, and move forward with the charge that sends one.
    reported_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reported_nanos: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    @property
    def ledger_kind(self) -> str:
        raise NotImplementedError

    def ledger_key(self, from_seconds: int, to_seconds: int) -> str:
        raise NotImplementedError

    def ledger_description(self, from_seconds: int, to_seconds: int) -> str:
        raise NotImplementedError

    def charged_subject(self) -> dict[str, str]:
        """What a `compute.charged` event names as charged."""
        raise NotImplementedError
