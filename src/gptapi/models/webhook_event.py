from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, new_uuid, utcnow


class WebhookEvent(Base):
    """The outbox: one row per thing that happened, written in the transaction that made it
    happen. The delivery worker fans each one out to the endpoints subscribed at that time."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_pending", "fanned_out", "created_at"),
        Index("ix_webhook_events_org_created", "organization_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    # NULL: a platform-wide event (incident.*), delivered to every subscribed endpoint.
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), default=None
    )
    event_type: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Events the worker derives itself (usage.daily) carry a key so a rerun cannot add twins.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    fanned_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def message_id(self) -> str:
        """The `webhook-id` header: one per event, the same on every attempt and replay."""
        return f"msg_{self.id.hex}"
