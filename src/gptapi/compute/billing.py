"""Per-second billing of the GPU cloud through the credit ledger.

A run (a deployment's start, a pod's start, a pod's volume over its life) is charged from
its posted hourly price for every whole second it has run, with a one-minute minimum per
start. The charge for `s` seconds is
`price * s // 3600` nano-dollars, cumulative from the start of the run, so the entries of a
run always add up to exactly what its running time costs, however it was sliced.

Each entry is keyed by what it covers (`compute:{run}:{from}-{to}` in seconds for a
deployment, `pod:{run}:{from}-{to}` for a pod), and the
run's `billed_seconds` moves from `from` to `to` in the same transaction, only if it still
says `from`: a restart, a crash between the two, or two workers metering at once can
neither skip nor repeat a second.

Charges are reported to webhooks as `compute.charged` events, batched: one per run when at
least REPORT_EVERY_SECONDS of billed time are unreported, and one for the rest when the run
ends. Each covers `[from, to)` of the run, right after the last, in the transaction of the
charge that sends it, so a report is never repeated or lost.

A charge never takes the balance below zero: what the balance cannot cover when it runs out
(at most one poll interval, or the first minute) is logged and left uncharged, and the
worker stops the organisation's deployments. The books never hold a debt nobody agreed to.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi import outbox
from gptapi.kit.clock import rfc3339
from gptapi.kit.db import SessionMaker
from gptapi.ledger import append_entry
from gptapi.models import DeploymentRun, Organization, PodRun
from gptapi.models.metered_run import MeteredRun

log = logging.getLogger(__name__)

MINIMUM_SECONDS = 60
SECONDS_PER_HOUR = 3600
Run = TypeVar("Run", DeploymentRun, PodRun)
REPORT_EVERY_SECONDS = 300
CHARGED_EVENT = "compute.charged"


def cost_of(price_nanos_per_hour: int, seconds: int) -> int:
    """What `seconds` of running cost at an hourly price, in nano-dollars (rounded down)."""
    return price_nanos_per_hour * seconds // SECONDS_PER_HOUR


def billable_seconds(started_at: datetime, until: datetime) -> int:
    """Whole seconds run from `started_at` to `until`, never less than the minimum."""
    elapsed = int((until - started_at).total_seconds())
    return max(MINIMUM_SECONDS, elapsed)


@dataclass(frozen=True, slots=True)
class Charge:
    run_id: int
    from_seconds: int
    to_seconds: int
    amount_nanos: int


async def meter_run(session: AsyncSession, run: MeteredRun, until: datetime) -> Charge | None:
    """Charge `run` up to `until` inside the caller's transaction; None when nothing is due
    or another writer got there first (the caller's transaction then changes nothing)."""
    due = billable_seconds(run.started_at, until)
    billed = run.billed_seconds
    if due <= billed:
        return None
    amount = cost_of(run.price_nanos_per_hour, due) - cost_of(run.price_nanos_per_hour, billed)
    balance = await session.scalar(
        select(Organization.balance_nanos)
        .where(Organization.id == run.organization_id)
        .with_for_update()
    )
    covered = min(amount, max(balance or 0, 0))
    if covered < amount:
        log.warning(
            "%s: balance covers %d of %d nano-dollars for seconds %d to %d",
            run.ledger_description(billed, due),
            covered,
            amount,
            billed,
            due,
        )
        amount = covered
    table = type(run)
    moved = await session.execute(
        update(table)
        .where(table.id == run.id, table.billed_seconds == billed)
        .values(billed_seconds=due, charged_nanos=table.charged_nanos + amount)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return None
    if amount:
        await append_entry(
            session,
            organization_id=run.organization_id,
            amount_nanos=-amount,
            kind=run.ledger_kind,
            idempotency_key=run.ledger_key(billed, due),
            description=run.ledger_description(billed, due),
        )
    run.billed_seconds = due
    run.charged_nanos += amount
    if due - run.reported_seconds >= REPORT_EVERY_SECONDS:
        await _report(session, run)
    return Charge(run.id, billed, due, amount)


async def _report(session: AsyncSession, run: MeteredRun) -> None:
    """A `compute.charged` event for what the run has been charged since the last one."""
    since, already = run.reported_seconds, run.reported_nanos
    if run.billed_seconds <= since:
        return
    table = type(run)
    moved = await session.execute(
        update(table)
        .where(table.id == run.id, table.reported_seconds == since)
        .values(reported_seconds=run.billed_seconds, reported_nanos=run.charged_nanos)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return
    run.reported_seconds, run.reported_nanos = run.billed_seconds, run.charged_nanos
    await outbox.emit(
        session,
        organization_id=run.organization_id,
        event_type=CHARGED_EVENT,
        data={
            "organization_id": str(run.organization_id),
            **run.charged_subject(),
            "run_id": run.id,
            "from_seconds": since,
            "to_seconds": run.billed_seconds,
            "amount_nanos": run.charged_nanos - already,
            "price_nanos_per_hour": run.price_nanos_per_hour,
            "run_started_at": rfc3339(run.started_at),
            "run_ended": run.ended_at is not None,
        },
    )


async def running_nanos_per_hour(session: AsyncSession, organization_id: uuid.UUID) -> int:
    """What the organisation's running instances cost per hour together (its open runs:
    deployments, pods' GPUs and their volumes, stopped or not)."""
    total = 0
    for table in (DeploymentRun, PodRun):
        total += (
            await session.scalar(
                select(func.coalesce(func.sum(table.price_nanos_per_hour), 0)).where(
                    table.organization_id == organization_id, table.ended_at.is_(None)
                )
            )
            or 0
        )
    return int(total)


async def close_run(session: AsyncSession, run: MeteredRun, ended_at: datetime) -> None:
    """End a run and charge it to its end, in the caller's transaction: a closed run is
    always fully billed (and reported), so only open runs need metering."""
    ended_at = max(ended_at, run.started_at)
    run.ended_at = ended_at
    await meter_run(session, run, ended_at)
    await _report(session, run)


async def meter_open_runs(sessions: SessionMaker) -> list[Charge]:
    """Charge every open run up to the last moment it was seen, each in a transaction of
    its own: time nobody observed (the platform was down) is settled when the run is
    closed, at the moment it is known to have ended."""
    return [
        *await _meter_open(sessions, DeploymentRun),
        *await _meter_open(sessions, PodRun),
    ]


async def _meter_open(sessions: SessionMaker, table: type[Run]) -> list[Charge]:
    async with sessions() as session:
        ids = (await session.scalars(select(table.id).where(table.ended_at.is_(None)))).all()
    charges: list[Charge] = []
    for run_id in ids:
        async with sessions() as session, session.begin():
            run = await session.get(table, run_id)
            if run is None or run.ended_at is not None:
                continue
            charge = await meter_run(session, run, run.last_seen_at)
            if charge is not None:
                charges.append(charge)
    return charges
