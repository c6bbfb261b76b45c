"""Low- and zero-balance warnings: once per fall, by mail and as webhook events."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from gptapi.models import WebhookEvent
from tests.billing.env import BillingEnv

LOW = "Your API credit is running low"
OUT = "Your API credit has run out"


def event_types(env: BillingEnv, org_id: object) -> list[str]:
    rows: list[WebhookEvent] = env.platform.rows(
        select(WebhookEvent)
        .where(WebhookEvent.organization_id == org_id, WebhookEvent.event_type.like("balance.%"))
        .order_by(WebhookEvent.created_at)
    )
    return [row.event_type for row in rows]


def test_warnings_are_sent_once_per_fall_and_rearmed_by_credit(env: BillingEnv) -> None:
    member = env.member()
    env.grant(member.org_id, "10")
    env.check_balances()
    assert env.mails_to(member.email) == []

    env.grant(member.org_id, "-6")  # $4 < the default $5 threshold
    env.check_balances()
    env.check_balances()
    assert env.mails_to(member.email) == [LOW]
    assert member.client.get(env.base(member)).json()["balance_state"] == "low"

    env.grant(member.org_id, "-4")
    env.check_balances()
    assert env.mails_to(member.email) == [LOW, OUT]

    env.grant(member.org_id, "20")
    env.check_balances()
    env.grant(member.org_id, "-17")
    env.check_balances()
    assert env.mails_to(member.email) == [LOW, OUT, LOW]
    assert event_types(env, member.org_id) == ["balance.low", "balance.depleted", "balance.low"]


def test_each_organisation_sets_its_own_threshold(env: BillingEnv) -> None:
    member = env.member()
    env.grant(member.org_id, "30")
    answer = member.client.put(f"{env.base(member)}/low-balance", json={"threshold_usd": 50})
    assert answer.status_code == 200
    assert Decimal(answer.json()["low_balance_threshold_usd"]) == 50
    env.check_balances()
    assert env.mails_to(member.email) == [LOW]
    bad = member.client.put(f"{env.base(member)}/low-balance", json={"threshold_usd": -1})
    assert bad.status_code == 422


def test_an_organisation_never_funded_is_not_nagged(env: BillingEnv) -> None:
    member = env.member()
    env.check_balances()
    assert env.mails_to(member.email) == []
