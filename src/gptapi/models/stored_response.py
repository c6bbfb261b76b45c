from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gptapi.models.base import Base, UTCDateTime, utcnow


class StoredResponse(Base):
    """A response of POST /v1/responses kept with `store` (the default): its organisation
    retrieves or deletes it, and continues its conversation with `previous_response_id`."""

    __tablename__ = "stored_responses"
    __table_args__ = (Index("ix_stored_responses_org_created", "organization_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # resp_…
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The input items the response answered, earlier turns of its chain included; not the
    # instructions, which a continuation does not inherit (as at OpenAI).
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)  # the response object as sent
