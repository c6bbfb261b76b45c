"""An organisation with credit and usage booked by the real usage writer (rows, ledger
entries and the hourly rollup in one transaction), for the usage-history tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gptapi.admin import service
from gptapi.gateway.metering import UsageEntry, write_batch
from gptapi.kit.db import session_maker
from gptapi.models import Model

CREDIT = 1000 * 10**9


@dataclass(frozen=True)
class Books:
    organization_id: uuid.UUID
    user_id: uuid.UUID
    key_id: uuid.UUID
    model_ids: tuple[int, int]

    def entry(self, at: datetime, cost_nanos: int, *, second_model: bool = False) -> UsageEntry:
        return UsageEntry(
            request_id=f"req_{uuid.uuid4().hex}",
            organization_id=self.organization_id,
            api_key_id=self.key_id,
            user_id=self.user_id,
            model_id=self.model_ids[second_model],
            model_name="gpt-fast",
            endpoint="chat.completions",
            prompt_tokens=cost_nanos % 97,
            completion_tokens=cost_nanos % 89,
            cost_nanos=cost_nanos,
            status=200,
            outcome="completed",
            metered_by="upstream",
            latency_ms=5,
            upstream="",
            created_at=at,
            hold_nanos=cost_nanos,
        )


async def open_books(engine: AsyncEngine) -> Books:
    async with session_maker(engine)() as session, session.begin():
        user, organization = await service.create_user(
            session, f"usage-{uuid.uuid4().hex[:8]}@example.com"
        )
        key, _ = await service.create_key(session, organization, user, name="usage")
        await service.grant_credit(session, organization, CREDIT, reason="test credit")
        models = (await session.scalars(select(Model.id).order_by(Model.id).limit(2))).all()
        return Books(organization.id, user.id, key.id, (models[0], models[1]))


async def book(engine: AsyncEngine, books: Books, moments: list[datetime]) -> None:
    """One request at each moment, costs varying, both models, in one batch."""
    entries = [
        books.entry(at, 1000 + 7 * n, second_model=n % 3 == 0) for n, at in enumerate(moments)
    ]
    await write_batch(engine, entries)
