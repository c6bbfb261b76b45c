"""The transactional outbox for outgoing webhooks.

Call `emit` inside the transaction that makes the change: the event is committed exactly
when the change is, so a rollback cannot leave a phantom event and a crash after commit
cannot lose one. The webhook worker delivers it later (see `gptapi.workers.webhooks`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models.webhook_event import WebhookEvent


async def emit(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID | None,
    event_type: str,
    data: dict[str, Any],
    dedupe_key: str | None = None,
) -> None:
    """Record an event in the caller's transaction.

    `organization_id=None` is a platform-wide event (incident.*), delivered to every endpoint
    subscribed to its type. `data` must be JSON-serialisable and match the shape documented
    for `event_type` in `gptapi.console.webhooks.catalog`.
    """
    session.add(
        WebhookEvent(
            organization_id=organization_id,
            event_type=event_type,
            data=data,
            dedupe_key=dedupe_key,
        )
    )
