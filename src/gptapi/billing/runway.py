"""The running-cost warning: the balance covers less than an hour of what runs.

Running deployments draw on the balance by the second, so a balance well above the
low-balance threshold can still run out within the hour. Owners get one mail and endpoints
one `balance.runway_low` event per episode: the state (ok → low) moves by conditional update,
so several workers send one warning, and it returns to ok once the balance covers an hour
again (credit added, or deployments stopped), ready for the next episode.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, union_all

from gptapi import outbox
from gptapi.billing.notices import Notice, send_notices
from gptapi.billing.store import move_told_state
from gptapi.kit.db import SessionMaker
from gptapi.kit.money import format_usd
from gptapi.mail.message import Mailer
from gptapi.mail.recipients import owner_emails
from gptapi.models import BillingAccount, DeploymentRun, Organization, PodRun

RUNWAY_EVENT = "balance.runway_low"
WARN_BELOW_SECONDS = 3600


def hours_left(balance_nanos: int, nanos_per_hour: int) -> float | None:
    """Hours the balance lasts at this burn rate; None when nothing runs."""
    if nanos_per_hour <= 0:
        return None
    return round(max(balance_nanos, 0) / nanos_per_hour, 2)


def runs_short(balance_nanos: int, nanos_per_hour: int) -> bool:
    return nanos_per_hour > 0 and balance_nanos * 3600 < nanos_per_hour * WARN_BELOW_SECONDS


async def check_runways(sessions: SessionMaker, mailer: Mailer) -> None:
    """Warn organisations whose balance newly covers less than an hour of what runs; re-arm
    those whose episode is over."""
    # Open runs: deployments, pods' GPUs and pods' volumes (billed while stopped too).
    open_runs = union_all(
        *(
            select(table.organization_id, table.price_nanos_per_hour).where(
                table.ended_at.is_(None)
            )
            for table in (DeploymentRun, PodRun)
        )
    ).subquery()
    burn = (
        select(
            open_runs.c.organization_id.label("organization_id"),
            func.sum(open_runs.c.price_nanos_per_hour).label("per_hour"),
        )
        .group_by(open_runs.c.organization_id)
        .subquery()
    )
    told = func.coalesce(BillingAccount.runway_state, "ok")
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    Organization.id,
                    Organization.balance_nanos,
                    func.coalesce(burn.c.per_hour, 0),
                    told,
                )
                .outerjoin(burn, burn.c.organization_id == Organization.id)
                .outerjoin(BillingAccount, BillingAccount.organization_id == Organization.id)
                .where((burn.c.per_hour.is_not(None)) | (told != "ok"))
            )
        ).all()
    for organization_id, balance, per_hour, state in rows:
        new = "low" if runs_short(balance, int(per_hour)) else "ok"
        if new != state:
            await _transition(sessions, mailer, organization_id, state, new, balance, int(per_hour))


async def _transition(
    sessions: SessionMaker,
    mailer: Mailer,
    organization_id: uuid.UUID,
    old: str,
    new: str,
    balance: int,
    per_hour: int,
) -> None:
    async with sessions() as session, session.begin():
        moved = await move_told_state(
            session, organization_id, BillingAccount.runway_state, old, new
        )
        if not moved or new != "low":
            return
        left = hours_left(balance, per_hour)
        await outbox.emit(
            session,
            organization_id=organization_id,
            event_type=RUNWAY_EVENT,
            data={
                "organization_id": str(organization_id),
                "balance_nanos": balance,
                "running_nanos_per_hour": per_hour,
                "hours_left": left,
            },
        )
        emails = await owner_emails(session, organization_id)
    minutes = int((left or 0) * 60)
    notice = Notice(
        subject="Your balance covers less than an hour of your GPU deployments",
        text=f"Your organisation's balance is {format_usd(balance, 2)} and its running "
        f"deployments cost {format_usd(per_hour, 2)} an hour together: about {minutes} "
        "minutes left. When the balance reaches zero they are stopped. Add credit on the "
        "Billing page, or turn on auto-refill, to keep them running.",
        category="low_balance",
    )
    await send_notices(mailer, emails, notice)
