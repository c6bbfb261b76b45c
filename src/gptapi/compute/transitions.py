"""State changes of deployments and pods: a compare-and-set on the state the worker read,
and the webhook event that says so, in the same transaction; and the stop of everything an
organisation runs once its balance is exhausted."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.compute import events
from gptapi.kit.clock import Clock
from gptapi.kit.db import SessionMaker
from gptapi.models import Deployment, Organization, Pod

Row = TypeVar("Row", Deployment, Pod)
EXHAUSTED = "Stopped: the balance is exhausted. Add funds, then start it again."


async def move(
    session: AsyncSession,
    row: Row,
    from_state: str,
    to_state: str,
    *,
    now: datetime,
    reason: str | None = None,
    **values: Any,
) -> bool:
    """Compare-and-set the state; False when someone else moved it first."""
    if reason is not None:
        values["state_reason"] = reason
    elif to_state != from_state:
        values["state_reason"] = ""
    table = type(row)
    result = await session.execute(
        update(table)
        .where(table.id == row.id, table.state == from_state)
        .values(state=to_state, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    moved = bool(result.rowcount)  # type: ignore[attr-defined]
    if moved and to_state != from_state:
        reason_now = values.get("state_reason", row.state_reason)
        await events.changed(session, row, from_state, to_state, reason_now, now)
    return moved


async def stop_unfunded(
    sessions: SessionMaker, table: type[Row], active: tuple[str, ...], clock: Clock
) -> bool:
    """Prepaid: what organisations with no balance left run is stopped (`stopping`, with
    the reason); True when anything was."""
    unfunded = (
        table.state.in_(active),
        table.organization_id.in_(select(Organization.id).where(Organization.balance_nanos <= 0)),
    )
    # Read first: most ticks find nothing, and then take no write lock at all.
    async with sessions() as session:
        ids = (await session.scalars(select(table.id).where(*unfunded))).all()
    stopped = False
    for row_id in ids:
        async with sessions() as session, session.begin():
            row = await session.get(table, row_id)
            if row is None or row.state not in active:
                continue
            stopped |= await move(
                session, row, row.state, "stopping", now=clock.now(), reason=EXHAUSTED
            )
    return stopped
