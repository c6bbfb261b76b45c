"""Monthly plans on Stripe Billing (the Stripe double): subscribing through Checkout in
subscription mode, included credit granted once per paid invoice whatever the order,
duplicates, replays or forgeries, raised key limits, renewal, a failed renewal (past_due, mail,
grace period), recovery, cancelling at the period's end, resuming, and the end of a plan."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.billing.reconcile import reconcile
from gptapi.billing.subscriptions import expire_grace
from gptapi.models import Organization
from tests.billing.env import BillingEnv, at_once
from tests.support.console import Member

PRO_CREDIT = 25_000_000_000


def plan_credits(env: BillingEnv, member: Member) -> list[int]:
    return [e.amount_nanos for e in env.ledger(member.org_id) if e.kind == "plan_credit"]


def overview(env: BillingEnv, member: Member) -> dict[str, Any]:
    response = member.client.get(f"{env.base(member)}/subscription")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def limits(env: BillingEnv, member: Member) -> tuple[int | None, int | None]:
    async def work(session: AsyncSession) -> tuple[int | None, int | None]:
        row = (
            await session.execute(
                select(Organization.default_rpm_limit, Organization.default_tpm_limit).where(
                    Organization.id == member.org_id
                )
            )
        ).one()
        return row[0], row[1]

    return env.platform.run(work)


def books_balance(env: BillingEnv, member: Member) -> None:
    async def work(session: AsyncSession) -> list[object]:
        return [d for d in await reconcile(session) if d.organization_id == member.org_id]

    assert env.platform.run(work) == []


def subscribe(env: BillingEnv, member: Member, plan: str = "pro") -> tuple[str, dict[str, Any]]:
    """Checkout in subscription mode, paid on the hosted page; the session as Stripe has it."""
    started = member.client.post(f"{env.base(member)}/subscription/checkout", json={"plan": plan})
    assert started.status_code == 201, started.text
    session = env.stripe.complete_checkout(started.json()["id"])
    return str(session["subscription"]), session


def deliver(env: BillingEnv, type_: str, object_id: str, **kwargs: Any) -> dict[str, Any]:
    answer = env.deliver(type_, env.stripe.object(object_id), **kwargs)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_subscribing_grants_the_included_credit_once_and_raises_limits(env: BillingEnv) -> None:
    member = env.member()
    before = overview(env, member)
    assert before["available"] and before["subscription"] is None
    assert [p["id"] for p in before["plans"]] == ["pro", "team"]
    assert limits(env, member) == (None, None)

    sub_id, session = subscribe(env, member)
    stripe_sub = env.stripe.object(sub_id)
    invoice_id = stripe_sub["latest_invoice"]
    # Stripe sends these in any order, some more than once.
    assert deliver(env, "invoice.paid", invoice_id)["handled"]
    assert deliver(env, "customer.subscription.created", sub_id)["handled"]
    assert deliver(env, "checkout.session.completed", session["id"])["handled"]
    body, header = env.stripe.event("invoice.paid", env.stripe.object(invoice_id))
    assert env.post_webhook(body, header).json()["duplicate"] is False
    assert env.post_webhook(body, header).json()["duplicate"] is True
    assert deliver(env, "invoice.paid", invoice_id)["duplicate"] is False  # new event, same bill

    assert plan_credits(env, member) == [PRO_CREDIT]
    assert env.balance(member.org_id) == PRO_CREDIT
    shown = overview(env, member)["subscription"]
    assert shown["plan"] == "pro" and shown["status"] == "active"
    period_end = stripe_sub["items"]["data"][0]["current_period_end"]
    assert shown["current_period_end"].startswith(
        __import__("datetime")
        .datetime.fromtimestamp(period_end, __import__("datetime").UTC)
        .strftime("%Y-%m-%dT%H:%M:%S")
    )
    assert limits(env, member) == (3000, 5_000_000)
    assert env.mails_to(member.email).count("Your Pro plan is paid") == 1
    history = member.client.get(f"{env.base(member)}/transactions").json()["data"]
    [line] = [line for line in history if line["kind"] == "plan_credit"]
    assert line["receipt_url"] == env.stripe.object(invoice_id)["hosted_invoice_url"]
    books_balance(env, member)

    again = member.client.post(f"{env.base(member)}/subscription/checkout", json={"plan": "team"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_subscribed"
    unknown = member.client.post(f"{env.base(member)}/subscription/checkout", json={"plan": "x"})
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "plan"


def test_renewal_failure_grace_and_recovery(env: BillingEnv) -> None:
    member = env.member()
    sub_id, session = subscribe(env, member)
    deliver(env, "checkout.session.completed", session["id"])
    renewed = env.stripe.renew(sub_id)
    deliver(env, "invoice.paid", renewed["id"])
    assert plan_credits(env, member) == [PRO_CREDIT, PRO_CREDIT]

    failed = env.stripe.renew(sub_id, card_fails=True)
    deliver(env, "invoice.payment_failed", failed["id"])
    deliver(env, "customer.subscription.updated", sub_id)
    shown = overview(env, member)["subscription"]
    assert shown["status"] == "past_due" and shown["grace_ends_at"] is not None
    assert env.mails_to(member.email).count("We could not renew your Pro plan") == 1
    assert limits(env, member) == (3000, 5_000_000)  # within the grace period
    assert plan_credits(env, member) == [PRO_CREDIT, PRO_CREDIT]  # nothing for an unpaid bill

    settings = env.platform.settings
    later = env.clock.now() + timedelta(days=settings.subscription_grace_days + 1)
    env.platform.portal.call(expire_grace(env.platform.sessions, settings, later))
    assert limits(env, member) == (None, None)  # grace over: benefits paused

    env.stripe.retry_invoice(failed["id"], succeed=True)
    deliver(env, "invoice.paid", failed["id"])
    assert overview(env, member)["subscription"]["status"] == "active"
    assert limits(env, member) == (3000, 5_000_000)
    assert plan_credits(env, member) == [PRO_CREDIT] * 3
    assert env.mails_to(member.email).count("Your Pro plan is back in good standing") == 1
    books_balance(env, member)


def test_cancel_at_period_end_resume_and_end(env: BillingEnv) -> None:
    member = env.member()
    base = f"{env.base(member)}/subscription"
    assert member.client.post(f"{base}/cancel").status_code == 409
    sub_id, session = subscribe(env, member)
    deliver(env, "checkout.session.completed", session["id"])

    cancelled = member.client.post(f"{base}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["cancel_at_period_end"] is True
    assert env.stripe.object(sub_id)["cancel_at_period_end"] is True
    assert overview(env, member)["subscription"]["status"] == "active"  # until the period ends
    resumed = member.client.post(f"{base}/resume")
    assert resumed.json()["cancel_at_period_end"] is False
    assert env.stripe.object(sub_id)["cancel_at_period_end"] is False
    member.client.post(f"{base}/cancel")

    env.stripe.end_subscription(sub_id)
    deliver(env, "customer.subscription.deleted", sub_id)
    deliver(env, "customer.subscription.deleted", sub_id)
    shown = overview(env, member)["subscription"]
    assert shown["status"] == "canceled" and shown["ended_at"] is not None
    assert env.mails_to(member.email).count("Your Pro plan has ended") == 1
    assert limits(env, member) == (None, None)
    assert env.balance(member.org_id) == PRO_CREDIT  # included credit already given stays
    assert member.client.post(f"{base}/resume").status_code == 409
    books_balance(env, member)


def test_forged_invoice_events_and_concurrent_duplicates_credit_once(env: BillingEnv) -> None:
    member = env.member()
    sub_id, session = subscribe(env, member)
    invoice = env.stripe.object(env.stripe.object(sub_id)["latest_invoice"])
    body, header = env.stripe.event("invoice.paid", invoice)
    forged = env.stripe.event("invoice.paid", invoice, secret="whsec_someone_else")
    assert env.post_webhook(body, None).status_code == 400
    assert env.post_webhook(forged[0], forged[1]).status_code == 400
    assert env.post_webhook(body.replace(b'"paid"', b'"open"'), header).status_code == 400
    assert plan_credits(env, member) == []

    poll = f"{env.base(member)}/subscription/checkout/{session['id']}"
    events = [env.stripe.event("invoice.paid", invoice) for _ in range(3)]
    answers = at_once(
        [lambda: env.post_webhook(body, header) for _ in range(2)]
        + [lambda b=b, h=h: env.post_webhook(b, h) for b, h in events]
        + [lambda: member.client.get(poll)]
    )
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]
    assert plan_credits(env, member) == [PRO_CREDIT]
    assert overview(env, member)["subscription"]["status"] == "active"
    other = env.member()
    foreign = other.client.get(f"{env.base(other)}/subscription/checkout/{session['id']}")
    assert foreign.status_code == 404
    books_balance(env, member)
