from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, new_uuid, utcnow


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # Who created it; the key stops working if that account is deactivated.
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    key_prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # NULL: the organisation's default; 0: unlimited.
    rpm_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    tpm_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    # Spend this key may run up per calendar month (UTC); NULL: no cap.
    monthly_spend_cap_nanos: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Model internal names this key may call; NULL: every model.
    allowed_models: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # A test-mode key (gpt_test_…): served like a live key, never charged, own tight limits.
    test_mode: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # "api": made by a person for their code; "playground": minted by the console for the
    # browser playground (short-lived, one per person and organisation, not listed).
    purpose: Mapped[str] = mapped_column(String(20), default="api", server_default="api")
    # What the key may do (`gptapi.kit.key_scopes`); NULL: `inference` only, as every key
    # made before scopes existed.
    scopes: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
