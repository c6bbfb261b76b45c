"""Month-to-date spend per API key, for spend caps (gateway) and the key list (console).

Whole hours come from `usage_hourly`, which the usage writer keeps in the same transaction as
the usage rows; only the current, partial hour reads `usage_logs`. A key with millions of
requests this month costs a few hundred rollup rows, not millions of request rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import UsageHourly, UsageLog


async def spend_by_key(
    session: AsyncSession,
    organization_id: uuid.UUID,
    since: datetime,
    now: datetime,
    *,
    key_id: uuid.UUID | None = None,
) -> dict[uuid.UUID, int]:
    """Cost in nano-dollars per key from `since` (a whole hour, e.g. a month's start) to now."""
    if since != since.replace(minute=0, second=0, microsecond=0):
        raise ValueError("spend is summed from the start of an hour")
    this_hour = max(since, now.replace(minute=0, second=0, microsecond=0))
    hours = (
        select(UsageHourly.api_key_id, func.sum(UsageHourly.cost_nanos))
        .where(
            UsageHourly.organization_id == organization_id,
            UsageHourly.hour >= since,
            UsageHourly.hour < this_hour,
        )
        .group_by(UsageHourly.api_key_id)
    )
    recent = (
        select(UsageLog.api_key_id, func.sum(UsageLog.cost_nanos))
        .where(UsageLog.organization_id == organization_id, UsageLog.created_at >= this_hour)
        .group_by(UsageLog.api_key_id)
    )
    if key_id is not None:
        hours = hours.where(UsageHourly.api_key_id == key_id)
        recent = recent.where(UsageLog.api_key_id == key_id)
    totals: dict[uuid.UUID, int] = {}
    for statement in (hours, recent):
        for key, cost in await session.execute(statement):
            totals[key] = totals.get(key, 0) + int(cost or 0)
    return totals
