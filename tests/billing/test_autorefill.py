"""Auto-refill: a saved card charged off-session, never twice at once, within its cap; a
decline or a bank asking for the card holder switches it off and tells the owners."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import BillingAccount, WebhookEvent
from tests.billing.env import BillingEnv
from tests.support.console import Member

NANOS = 1_000_000_000


def with_saved_card(env: BillingEnv, card: str = "visa", dollars: int = 25) -> Member:
    member = env.member()
    session_id = env.top_up(member, dollars, save_card=True)
    env.stripe.complete_checkout(session_id, card=card)
    assert member.client.get(f"{env.base(member)}/checkout/{session_id}").json()["status"] == "paid"
    return member


def enable(
    env: BillingEnv, member: Member, threshold: int, amount: int, cap: int | None = None
) -> httpx.Response:
    return member.client.put(
        f"{env.base(member)}/auto-refill",
        json={
            "enabled": True,
            "threshold_usd": threshold,
            "amount_usd": amount,
            "monthly_cap_usd": cap,
        },
    )


def intents_created(env: BillingEnv, org_id: object) -> int:
    return sum(
        1
        for obj in list(env.stripe.objects.values())
        if obj["object"] == "payment_intent"
        and obj["metadata"].get("kind") == "auto_refill"
        and obj["metadata"].get("organization_id") == str(org_id)
    )


def events(env: BillingEnv, org_id: object, event_type: str) -> list[WebhookEvent]:
    return env.platform.rows(
        select(WebhookEvent).where(
            WebhookEvent.organization_id == org_id, WebhookEvent.event_type == event_type
        )
    )


def test_a_card_saved_at_checkout_is_needed_and_shown(env: BillingEnv) -> None:
    bare = env.member()
    refused = enable(env, bare, 10, 50)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "card_required"

    member = with_saved_card(env)
    overview = member.client.get(env.base(member)).json()
    assert overview["card"]["label"] == "visa •••• 4242"
    assert overview["card"]["consent_at"] is not None
    answer = enable(env, member, 10, 50, 200)
    assert answer.status_code == 200, answer.text
    refill = answer.json()["auto_refill"]
    assert refill["enabled"] is True
    assert (refill["threshold_nanos"], refill["amount_nanos"]) == (10 * NANOS, 50 * NANOS)
    assert Decimal(refill["monthly_cap_usd"]) == 200
    assert env.account(member.org_id).consent_by == member.user_id


def test_bad_settings_are_refused(env: BillingEnv) -> None:
    member = with_saved_card(env)
    for threshold, amount, cap in ((10, 1, None), (10, 9999, None), (10, 50, 20), (-1, 50, None)):
        answer = enable(env, member, threshold, amount, cap)
        assert answer.status_code in (400, 422), answer.text
    assert env.account(member.org_id).auto_refill_enabled is False


def test_many_concurrent_triggers_charge_exactly_once(env: BillingEnv) -> None:
    member = with_saved_card(env)
    assert enable(env, member, 30, 50).status_code == 200  # balance 25 < 30: due now
    outcomes = env.refill_concurrently(member.org_id, 12)
    env.refill_due()
    assert sorted(o or "" for o in outcomes) == [""] * 11 + ["paid"], outcomes
    assert intents_created(env, member.org_id) == 1
    assert env.balance(member.org_id) == 75 * NANOS
    refills = [p for p in env.payments_of(member.org_id) if p.kind == "auto_refill"]
    assert [(p.status, p.amount_cents) for p in refills] == [("paid", 5000)]
    assert refills[0].receipt_url.startswith(env.stripe.url)
    assert [e.kind for e in env.ledger(member.org_id)] == ["topup", "auto_refill"]
    assert len(events(env, member.org_id, "payment.succeeded")) == 2
    assert env.account(member.org_id).refill_started_at is None


def test_its_webhook_arriving_afterwards_credits_nothing_more(env: BillingEnv) -> None:
    member = with_saved_card(env)
    enable(env, member, 30, 50)
    env.refill_due()
    [intent] = [
        o
        for o in env.stripe.objects.values()
        if o["object"] == "payment_intent"
        and o["metadata"].get("kind") == "auto_refill"
        and o["metadata"]["organization_id"] == str(member.org_id)
    ]
    assert env.deliver("payment_intent.succeeded", intent).status_code == 200
    assert env.balance(member.org_id) == 75 * NANOS


def test_a_refill_interrupted_mid_charge_reuses_its_idempotency_key(env: BillingEnv) -> None:
    member = with_saved_card(env)
    enable(env, member, 30, 50)
    account = env.account(member.org_id)
    # A worker claimed refill 1, charged the card, and died before recording anything.
    env.platform.portal.call(
        env.payments.charge_off_session(
            customer=str(account.stripe_customer_id),
            payment_method=str(account.payment_method_id),
            organization_id=member.org_id,
            amount_cents=5000,
            idempotency_key=f"auto_refill:{member.org_id}:1",
        )
    )

    async def crashed(session: AsyncSession) -> None:
        await session.execute(
            update(BillingAccount)
            .where(BillingAccount.organization_id == member.org_id)
            .values(refill_seq=1, refill_started_at=env.clock.now())
        )

    env.platform.run(crashed)
    env.refill_due()
    assert env.balance(member.org_id) == 25 * NANOS  # the claim is still fresh: wait
    env.clock.advance(timedelta(minutes=11).total_seconds())
    env.refill_due()
    assert intents_created(env, member.org_id) == 1
    assert env.balance(member.org_id) == 75 * NANOS


def test_the_monthly_cap_stops_refills(env: BillingEnv) -> None:
    member = with_saved_card(env)
    enable(env, member, 30, 50, cap=50)
    env.refill_due()
    env.grant(member.org_id, "-60", reason="usage elsewhere")  # 75 → 15, below 30 again
    env.refill_due()
    assert intents_created(env, member.org_id) == 1
    assert env.balance(member.org_id) == 15 * NANOS
    overview = member.client.get(env.base(member)).json()["auto_refill"]
    assert Decimal(overview["refilled_this_month_usd"]) == 50


def test_authentication_required_switches_auto_refill_off_and_tells_the_owner(
    env: BillingEnv,
) -> None:
    member = with_saved_card(env, card="authentication_required")
    enable(env, member, 30, 50)
    env.refill_due()
    env.refill_due()
    assert env.balance(member.org_id) == 25 * NANOS
    account = env.account(member.org_id)
    assert account.auto_refill_enabled is False
    assert "confirm" in account.auto_refill_disabled_reason
    notice = member.client.get(env.base(member)).json()["auto_refill"]
    assert notice["enabled"] is False and notice["disabled_reason"]
    assert env.mails_to(member.email).count("Auto-refill is off") == 1
    [failed] = events(env, member.org_id, "auto_refill.failed")
    assert failed.data["failure_code"] == "authentication_required"
    assert failed.data["auto_refill_disabled"] is True
    refills = [p for p in env.payments_of(member.org_id) if p.kind == "auto_refill"]
    assert [p.status for p in refills] == ["failed"]
    assert refills[0].payment_intent_id is not None
    # Stripe's own payment_intent.payment_failed for it changes nothing further.
    intent = env.stripe.object(str(refills[0].payment_intent_id))
    env.deliver("payment_intent.payment_failed", intent)
    assert len(events(env, member.org_id, "payment.failed")) == 1


def test_a_declined_card_switches_auto_refill_off(env: BillingEnv) -> None:
    member = with_saved_card(env, card="declined")
    enable(env, member, 30, 50)
    env.refill_due()
    account = env.account(member.org_id)
    assert account.auto_refill_enabled is False
    assert "declined" in account.auto_refill_disabled_reason
    assert env.mails_to(member.email) == ["Auto-refill is off"]
    assert env.balance(member.org_id) == 25 * NANOS
