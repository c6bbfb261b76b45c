"""The running-cost warning: when the balance covers less than an hour of the deployments
running, owners get one mail and endpoints one balance.runway_low event per episode, and the
billing overview says how many hours are left at the current burn rate."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.billing.runway import check_runways
from gptapi.models import DeploymentRun, WebhookEvent
from tests.billing.env import BillingEnv
from tests.support.compute import PRICE, T0, add_deployment

SHORT = "Your balance covers less than an hour of your GPU deployments"


def _run_deployment(env: BillingEnv, organization_id: uuid.UUID) -> int:
    async def work(session: AsyncSession) -> int:
        deployment_id = await add_deployment(
            session,
            organization_id,
            name=f"bot-{uuid.uuid4().hex[:6]}",
            slug="llama-3.1-70b",
            provider="runpod",
            state="ready",
            price_nanos_per_hour=PRICE,
        )
        await session.flush()
        run = DeploymentRun(
            deployment_id=deployment_id,
            organization_id=organization_id,
            price_nanos_per_hour=PRICE,
            started_at=T0,
            last_seen_at=T0,
        )
        session.add(run)
        await session.commit()
        return run.id

    return env.platform.run(work)


def _end(env: BillingEnv, run_id: int) -> None:
    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(DeploymentRun).where(DeploymentRun.id == run_id).values(ended_at=T0)
        )
        await session.commit()

    env.platform.run(work)


def _check(env: BillingEnv) -> None:
    env.platform.portal.call(check_runways(env.platform.sessions, env.mailbox))


def _events(env: BillingEnv, organization_id: uuid.UUID) -> list[dict[str, object]]:
    rows: list[WebhookEvent] = env.platform.rows(
        select(WebhookEvent)
        .where(
            WebhookEvent.organization_id == organization_id,
            WebhookEvent.event_type == "balance.runway_low",
        )
        .order_by(WebhookEvent.created_at)
    )
    return [row.data for row in rows]


def test_one_warning_per_episode_with_hours_left(env: BillingEnv) -> None:
    member = env.member()
    env.grant(member.org_id, "1")
    overview = member.client.get(env.base(member)).json()
    assert overview["running_nanos_per_hour"] == 0 and overview["hours_left"] is None

    run_id = _run_deployment(env, member.org_id)
    overview = member.client.get(env.base(member)).json()
    assert overview["running_nanos_per_hour"] == PRICE
    # $1 at $1.99/hr, less the first minute if the worker has charged it already.
    assert overview["hours_left"] == round(overview["balance_nanos"] / PRICE, 2)
    assert 0.45 < overview["hours_left"] <= 0.5

    _check(env)
    _check(env)
    assert env.mails_to(member.email) == [SHORT]
    [event] = _events(env, member.org_id)
    balance = event["balance_nanos"]
    assert isinstance(balance, int) and 0 < balance <= 1_000_000_000
    assert event == {
        "organization_id": str(member.org_id),
        "balance_nanos": balance,
        "running_nanos_per_hour": PRICE,
        "hours_left": round(balance / PRICE, 2),
    }

    # Credit that covers an hour ends the episode; the next fall is a new one.
    env.grant(member.org_id, "5")
    _check(env)
    env.grant(member.org_id, "-4.5")
    _check(env)
    assert env.mails_to(member.email) == [SHORT, SHORT]

    # Nothing running, nothing to warn about: stopping ends the episode too.
    _end(env, run_id)
    _check(env)
    assert member.client.get(env.base(member)).json()["hours_left"] is None
    _run_deployment(env, member.org_id)
    _check(env)
    assert len(_events(env, member.org_id)) == 3


def test_a_balance_covering_the_hour_is_not_warned(env: BillingEnv) -> None:
    member = env.member()
    env.grant(member.org_id, "3")  # $3 covers an hour and a half at $1.99
    _run_deployment(env, member.org_id)
    _check(env)
    assert env.mails_to(member.email) == []
    assert _events(env, member.org_id) == []
    assert 1.4 < member.client.get(env.base(member)).json()["hours_left"] <= 1.51
