"""Usage written the way the gateway writes it: `write_batch`, rollup included."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.gateway.metering import UsageEntry, write_batch
from gptapi.models import Model, Organization, User
from tests.support.platform import Platform


@dataclass(frozen=True)
class Call:
    at: datetime
    model: str
    key: uuid.UUID
    prompt: int = 10
    completion: int = 5
    cost: int = 1000
    status: int = 200
    outcome: str | None = None  # None: completed for 200, upstream_error otherwise
    latency: int = 42


def ensure_model(platform: Platform, name: str) -> int:
    async def work(session: AsyncSession) -> int:
        found = await session.scalar(select(Model.id).where(Model.internal_name == name))
        if found is not None:
            return int(found)
        model = Model(
            name=name.title(),
            internal_name=name,
            input_price_per_million_tokens=100,
            output_price_per_million_tokens=200,
        )
        session.add(model)
        await session.flush()
        return model.id

    return platform.run(work)


def make_key(platform: Platform, org_id: uuid.UUID, user_id: uuid.UUID, name: str) -> uuid.UUID:
    async def work(session: AsyncSession) -> uuid.UUID:
        organization = await session.get(Organization, org_id)
        user = await session.get(User, user_id)
        assert organization is not None and user is not None
        key, _ = await service.create_key(session, organization, user, name=name)
        return key.id

    return platform.run(work)


def record_calls(
    platform: Platform, org_id: uuid.UUID, user_id: uuid.UUID, calls: list[Call]
) -> list[str]:
    """Write `calls` as one gateway usage batch; their request ids."""
    model_ids = {name: ensure_model(platform, name) for name in {c.model for c in calls}}
    entries = [
        UsageEntry(
            request_id=f"req_{uuid.uuid4().hex}",
            organization_id=org_id,
            api_key_id=call.key,
            user_id=user_id,
            model_id=model_ids[call.model],
            model_name=call.model,
            endpoint="/v1/chat/completions",
            prompt_tokens=call.prompt,
            completion_tokens=call.completion,
            cost_nanos=call.cost,
            status=call.status,
            outcome=call.outcome or ("completed" if call.status == 200 else "upstream_error"),
            metered_by="upstream",
            latency_ms=call.latency,
            upstream="http://upstream",
            created_at=call.at,
        )
        for call in calls
    ]
    platform.portal.call(write_batch(platform.engine, entries))
    return [entry.request_id for entry in entries]
