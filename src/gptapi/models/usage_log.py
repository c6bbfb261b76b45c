from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow


class UsageLog(Base):
    """One row per /v1 request that reached metering, billed or not.

    On PostgreSQL the table is partitioned by month of `created_at` (migration 0021), so its
    unique keys carry `created_at` too: the primary key there is (id, created_at), and a
    request id is unique with its time (a request's row is always written with the same
    time, so a replayed batch still collides). Money keeps a global key: the ledger's
    `usage:<request id>` entry.
    """

    __tablename__ = "usage_logs"
    __table_args__ = (
        UniqueConstraint("request_id", "created_at"),
        Index("ix_usage_logs_org_created", "organization_id", "created_at"),
        Index("ix_usage_logs_key_created", "api_key_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organizations.id"))
    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("api_keys.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    model_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("models.id")
    )
    endpoint: Mapped[str] = mapped_column(String(40))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    # What an audio request was metered in (its model's kind says which applies): the
    # characters read out (speech) and the seconds of audio heard (transcription).
    characters: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    audio_seconds: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    cost_nanos: Mapped[int] = mapped_column(BigInteger)
    # Images generated and billed (image models; 0 for every other request).
    images: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The credit reserved before the request ran: `cost_nanos` never exceeds it.
    hold_nanos: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Cost the upstream's usage implied above the hold, not charged (a server over-reporting,
    # or generating more than it was told): nonzero rows are for an operator to look into.
    over_hold_nanos: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # HTTP status the client saw (200 for a stream that started, even if it broke later).
    status: Mapped[int] = mapped_column(Integer)
    # How the request ended: completed | upstream_error | client_disconnect | timeout, or
    # why an accepted key's request was refused (at zero cost): rate_limited |
    # insufficient_quota | spend_cap_reached | model_not_allowed
    outcome: Mapped[str] = mapped_column(String(30))
    # Where the token counts came from: upstream | counted | estimated
    metered_by: Mapped[str] = mapped_column(String(20))
    latency_ms: Mapped[int] = mapped_column(Integer)
    upstream: Mapped[str] = mapped_column(String(500), default="")
    # Made with a test-mode key: cost 0 and no ledger entry.
    test_mode: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
