"""What a pod's runs have billed so far, summed from its settled run rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import PodRun


class PodTotals(NamedTuple):
    gpu_seconds: int = 0
    gpu_nanos: int = 0
    storage_nanos: int = 0


async def pod_run_totals(db: AsyncSession, pod_ids: Sequence[str]) -> dict[str, PodTotals]:
    """What each pod's runs billed: GPU seconds, GPU and storage nano-dollars."""
    totals: dict[str, PodTotals] = {}
    if not pod_ids:
        return totals
    rows = await db.execute(
        select(
            PodRun.pod_id,
            PodRun.kind,
            func.sum(PodRun.billed_seconds),
            func.sum(PodRun.charged_nanos),
        )
        .where(PodRun.pod_id.in_(pod_ids))
        .group_by(PodRun.pod_id, PodRun.kind)
    )
    for pod_id, kind, seconds, charged in rows:
        seconds_so_far, gpu, storage = totals.get(pod_id, PodTotals())
        if kind == "gpu":
            totals[pod_id] = PodTotals(int(seconds or 0), int(charged or 0), storage)
        else:
            totals[pod_id] = PodTotals(seconds_so_far, gpu, int(charged or 0))
    return totals
