"""Usage reports. Whole hours come from the hourly rollup; only the parts of a range that
start or end off the hour (under an hour each) are summed from request rows, so a report
costs the same whether the organisation made a thousand requests or ten million. Past the
raw usage retention only whole hours can be summed."""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console.errors import bad_request
from gptapi.console.usage import queries
from gptapi.console.usage.money import usd
from gptapi.console.usage.queries import LogFilter
from gptapi.console.usage.schemas import (
    Breakdown,
    Bucket,
    Granularity,
    GroupBy,
    GroupTotals,
    LatencyGroup,
    LatencyReport,
    RequestKey,
    RequestPage,
    RequestRecord,
    Service,
    ServiceSpend,
    SpendByService,
    Summary,
    Timeseries,
    Totals,
)
from gptapi.kit import cursor as keyset
from gptapi.kit.clock import month_start
from gptapi.kit.cursor import EARLIEST, LATEST
from gptapi.models import UsageLog
from gptapi.usage_history.retention import kept_from
from gptapi.usage_sums import (
    HOUR,
    GroupColumn,
    SumRow,
    ceil_to,
    floor_to,
    merge,
    rollup_sums,
    sums,
)

STEPS: dict[Granularity, timedelta] = {"hour": HOUR, "day": timedelta(days=1)}
MAX_BUCKETS = 1000  # 41 days by the hour, 2.7 years by the day
GROUP_COLUMNS: dict[GroupBy, GroupColumn] = {"model": "model_id", "key": "api_key_id"}


def check_moment(moment: datetime, param: str) -> None:
    if not EARLIEST <= moment < LATEST:
        raise bad_request(
            f"{param} must be between {EARLIEST.year} and {LATEST.year}.",
            param=param,
            code="invalid_range",
        )


def check_range(start: datetime, end: datetime) -> None:
    check_moment(start, "start")
    check_moment(end, "end")
    if end <= start:
        raise bad_request("end must be after start.", param="end", code="invalid_range")


async def check_kept(db: AsyncSession, start: datetime, end: datetime) -> None:
    """A range's parts off the hour are summed from request rows: before the retention
    horizon those are gone (only the hourly rollup is kept), so such a range is refused
    rather than answered short."""
    horizon = await kept_from(db)
    if horizon is None:
        return
    for moment, param in ((start, "start"), (end, "end")):
        if moment < horizon and floor_to(moment, HOUR) != moment:
            raise bad_request(
                f"Usage before {horizon.isoformat()} is kept per hour only: give a {param} "
                "on the hour.",
                param=param,
                code="before_raw_retention",
            )


def _totals(row: SumRow | None) -> Totals:
    if row is None:
        return Totals()
    return Totals.of(
        row.requests, row.prompt_tokens, row.completion_tokens, row.cost_nanos, row.images
    )


async def summary(
    db: AsyncSession, organization_id: uuid.UUID, start: datetime, end: datetime, now: datetime
) -> Summary:
    check_range(start, end)
    await check_kept(db, start, end)
    rows = await sums(db, organization_id, start, end)
    this_month = month_start(now)
    month = await sums(db, organization_id, this_month, now) if now > this_month else []
    month_cost = month[0].cost_nanos if month else 0
    return Summary(
        start=start,
        end=end,
        month_to_date_cost_nanos=month_cost,
        month_to_date_cost_usd=usd(month_cost),
        **_totals(rows[0] if rows else None).model_dump(),
    )


Labels = dict[Any, tuple[str, str | None]]  # group id → (name, key prefix)


async def _labels(
    db: AsyncSession, organization_id: uuid.UUID, by: GroupBy, rows: Iterable[SumRow]
) -> Labels:
    ids = {row.group for row in rows}
    if by == "model":
        return {i: (name, None) for i, name in (await queries.model_names(db, ids)).items()}
    keys = await queries.key_names(db, organization_id, ids)
    return {i: (name, prefix) for i, (name, prefix) in keys.items()}


def _labelled(rows: list[SumRow], labels: Labels) -> list[GroupTotals]:
    """Each group's totals with its name, the costliest first."""
    groups = []
    for row in rows:
        name, prefix = labels.get(row.group, ("", None))
        groups.append(GroupTotals(id=str(row.group), name=name, key_prefix=prefix, **_dump(row)))
    groups.sort(key=lambda g: (-g.cost_nanos, -g.requests, g.name))
    return groups


def _dump(row: SumRow) -> dict[str, Any]:
    return _totals(row).model_dump()


async def breakdown(
    db: AsyncSession, organization_id: uuid.UUID, start: datetime, end: datetime, by: GroupBy
) -> Breakdown:
    check_range(start, end)
    await check_kept(db, start, end)
    rows = await sums(db, organization_id, start, end, GROUP_COLUMNS[by])
    groups = _labelled(rows, await _labels(db, organization_id, by, rows))
    return Breakdown(start=start, end=end, by=by, groups=groups)


async def timeseries(
    db: AsyncSession,
    organization_id: uuid.UUID,
    start: datetime,
    end: datetime,
    granularity: Granularity,
    group_by: GroupBy | None,
) -> Timeseries:
    """Whole buckets covering [start, end), empty ones included, so charts have no gaps."""
    check_range(start, end)
    step = STEPS[granularity]
    first, stop = floor_to(start, step), ceil_to(end, step)
    count = (stop - first) // step
    if count > MAX_BUCKETS:
        raise bad_request(
            f"That is {count} {granularity}s; ask for at most {MAX_BUCKETS} buckets "
            "(a shorter range or a coarser granularity).",
            param="granularity",
            code="too_many_buckets",
        )
    group = GROUP_COLUMNS[group_by] if group_by else None
    rows = await rollup_sums(db, organization_id, first, stop, group=group, bucket=granularity)
    per_bucket: dict[datetime | None, list[SumRow]] = defaultdict(list)
    for row in rows:
        per_bucket[row.bucket].append(row)
    labels = await _labels(db, organization_id, group_by, rows) if group_by else {}
    buckets: list[Bucket] = []
    for index in range(count):
        bucket_start = first + index * step
        members = merge(per_bucket.get(bucket_start, []))
        total = merge(SumRow(None, None, *_figures(m)) for m in members)
        groups = _labelled(members, labels) if group_by else []
        buckets.append(
            Bucket(
                start=bucket_start,
                groups=groups,
                **_totals(total[0] if total else None).model_dump(),
            )
        )
    return Timeseries(
        start=first, end=stop, granularity=granularity, group_by=group_by, buckets=buckets
    )


def _figures(row: SumRow) -> tuple[int, int, int, int, int]:
    return row.requests, row.prompt_tokens, row.completion_tokens, row.cost_nanos, row.images


# ---------------------------------------------------------------- the request log


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        created_at, text = keyset.decode(cursor)
        row_id = int(text)
        if not 0 <= row_id < 2**63:
            raise ValueError(text)
    except ValueError:
        raise bad_request("Not a cursor from this API.", param="cursor") from None
    return created_at, row_id


def record(row: UsageLog, model: str, key_name: str, key_prefix: str) -> RequestRecord:
    return RequestRecord(
        request_id=row.request_id,
        created_at=row.created_at,
        model=model,
        key=RequestKey(id=row.api_key_id, name=key_name, prefix=key_prefix),
        endpoint=row.endpoint,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        total_tokens=row.prompt_tokens + row.completion_tokens,
        characters=row.characters,
        audio_seconds=row.audio_seconds,
        images=row.images,
        cost_nanos=row.cost_nanos,
        cost_usd=usd(row.cost_nanos),
        status=row.status,
        outcome=row.outcome,
        latency_ms=row.latency_ms,
        test_mode=row.test_mode,
    )


def check_filter(where: LogFilter) -> None:
    if where.start is not None and where.end is not None:
        check_range(where.start, where.end)
    elif where.start is not None:
        check_moment(where.start, "start")
    elif where.end is not None:
        check_moment(where.end, "end")


async def request_page(
    db: AsyncSession, where: LogFilter, cursor: str | None, limit: int
) -> RequestPage:
    check_filter(where)
    after = decode_cursor(cursor) if cursor else None
    rows = await queries.request_page(db, where, after, limit + 1)
    records = [record(*row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        next_cursor = keyset.encode(last.created_at, last.id)
    return RequestPage(data=records, next_cursor=next_cursor)


# ---------------------------------------------------------------- latency

LATENCY_SAMPLE = 5000


def percentile(sorted_values: list[int], share: float) -> int:
    """Nearest-rank percentile of an ascending, non-empty list."""
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


async def latency(
    db: AsyncSession, organization_id: uuid.UUID, start: datetime, end: datetime
) -> LatencyReport:
    """Percentiles per model over the newest completed requests of the period."""
    check_range(start, end)
    rows = await queries.recent_latencies(db, organization_id, start, end, LATENCY_SAMPLE)
    per_model: dict[str, list[int]] = defaultdict(list)
    for model, value in rows:
        per_model[model].append(value)
    groups = []
    for model, values in sorted(per_model.items()):
        values.sort()
        groups.append(
            LatencyGroup(
                model=model,
                requests=len(values),
                p50_ms=percentile(values, 0.5),
                p90_ms=percentile(values, 0.9),
                p99_ms=percentile(values, 0.99),
            )
        )
    return LatencyReport(
        start=start, end=end, sample_limit=LATENCY_SAMPLE, sampled=len(rows), groups=groups
    )


# Which ledger entries are which service's charges. A deployment's price includes its
# storage; a custom pod's volume is billed apart (also while the pod is stopped), so pods'
# GPUs and their storage are two rows. The split always has the same four rows.
SERVICE_KINDS: dict[Service, tuple[str, ...]] = {
    "token_api": ("usage",),
    "deployments": ("compute",),
    "pods": ("pod",),
    "storage": ("storage",),
}


async def spend_by_service(
    db: AsyncSession, organization_id: uuid.UUID, start: datetime, end: datetime
) -> SpendByService:
    check_range(start, end)
    kinds = tuple(kind for group in SERVICE_KINDS.values() for kind in group)
    by_kind = await queries.spend_by_kind(db, organization_id, kinds, start, end)
    services = []
    for service, group in SERVICE_KINDS.items():
        cost = sum(by_kind.get(kind, 0) for kind in group)
        services.append(ServiceSpend(service=service, cost_nanos=cost, cost_usd=usd(cost)))
    seconds = gpu_seconds = 0.0
    for started, ended, gpus in await queries.runs_overlapping(db, organization_id, start, end):
        ran = max(0.0, (min(ended, end) - max(started, start)).total_seconds())
        seconds += ran
        gpu_seconds += ran * gpus
    total = sum(s.cost_nanos for s in services)
    # What the running time cost: deployments and pods' GPUs (their storage runs stopped too).
    running = by_kind.get("compute", 0) + by_kind.get("pod", 0)
    hours = seconds / 3600
    return SpendByService(
        start=start,
        end=end,
        services=services,
        total_cost_nanos=total,
        total_cost_usd=usd(total),
        running_hours=round(hours, 6),
        gpu_hours=round(gpu_seconds / 3600, 6),
        average_cost_per_hour_usd=usd(round(running / hours)) if seconds else None,
    )
