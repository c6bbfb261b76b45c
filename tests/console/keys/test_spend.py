"""Month-to-date spend per key: whole hours from the hourly rollup, the current hour from the
request rows — so a busy key's spend costs hundreds of rows to read, not millions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.kit.clock import month_start
from gptapi.models import Model, UsageHourly, UsageLog
from gptapi.usage_sums import cost_by_key
from tests.support.platform import Platform


def test_whole_hours_come_from_the_rollup_and_this_hour_from_requests(console: Platform) -> None:
    account = console.account("1")
    now = datetime.now(UTC)
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    earlier = max(month_start(now), this_hour - timedelta(hours=3))

    async def seed(session: AsyncSession) -> None:
        model_id = await session.scalar(select(Model.id).where(Model.internal_name == "embed"))
        assert model_id is not None
        common = {
            "organization_id": account.organization_id,
            "api_key_id": account.key_id,
            "model_id": model_id,
        }
        if earlier < this_hour:
            rollup = {"requests": 9, "prompt_tokens": 9, "completion_tokens": 0}
            session.add(UsageHourly(hour=earlier, cost_nanos=700, **rollup, **common))
        session.add(
            UsageLog(
                request_id=f"spend-{account.key_id}",
                user_id=account.user_id,
                endpoint="embeddings",
                prompt_tokens=1,
                completion_tokens=0,
                cost_nanos=50,
                status=200,
                outcome="completed",
                metered_by="upstream",
                latency_ms=1,
                created_at=now,
                **common,
            )
        )

    console.run(seed)

    async def read(session: AsyncSession) -> dict[uuid.UUID, int]:
        # The range ends just after the request row, as a cap check made after it would.
        end = now + timedelta(seconds=1)
        return await cost_by_key(
            session, account.organization_id, month_start(now), end, key_id=account.key_id
        )

    expected = 50 + (700 if earlier < this_hour else 0)
    assert console.run(read) == {account.key_id: expected}
