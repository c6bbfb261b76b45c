"""The Stripe webhook: signatures over the raw body, stale timestamps, unknown events,
refunds and lost disputes."""

from __future__ import annotations

import time

import stripe

from tests.billing.env import BillingEnv
from tests.support.console import Member

NANOS = 1_000_000_000


def paid_top_up(env: BillingEnv, member: Member, dollars: int) -> str:
    session_id = env.top_up(member, dollars)
    env.stripe.complete_checkout(session_id)
    assert (
        env.deliver("checkout.session.completed", env.stripe.object(session_id)).status_code == 200
    )
    return str(env.stripe.object(session_id)["payment_intent"])


def test_forged_and_stale_signatures_are_refused_and_move_nothing(env: BillingEnv) -> None:
    member = env.member()
    session_id = env.top_up(member, 25)
    env.stripe.complete_checkout(session_id)
    session = env.stripe.object(session_id)
    body, good = env.stripe.event("checkout.session.completed", session)
    forged = env.stripe.sign(body, secret="whsec_wrong")
    stale = env.stripe.sign(body, timestamp=int(time.time()) - 301)
    tampered = body.replace(b'"amount_total": 2500', b'"amount_total": 9999')
    for payload, header in (
        (body, forged),
        (body, None),
        (body, "t=abc,v1=nothex"),
        (tampered, good),
        (body.replace(b"{", b"{ ", 1), good),  # re-serialised JSON is not the signed body
    ):
        answer = env.post_webhook(payload, header)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "invalid_signature"
    stale_answer = env.post_webhook(body, stale)
    assert stale_answer.status_code == 400
    assert "tolerance" in stale_answer.json()["error"]["message"]
    assert env.balance(member.org_id) == 0
    assert env.payments_of(member.org_id)[0].status == "open"
    assert env.post_webhook(body, good).status_code == 200
    assert env.balance(member.org_id) == 25 * NANOS


def test_signed_garbage_is_a_clear_400(env: BillingEnv) -> None:
    for payload in (b"not json", b"[1, 2]", b'{"id": "evt_1"}', b'{"id": "e", "type": "x"}'):
        answer = env.post_webhook(payload, env.stripe.sign(payload))
        assert answer.status_code == 400, (payload, answer.text)


def test_unknown_event_types_are_acknowledged_and_ignored(env: BillingEnv) -> None:
    answer = env.deliver("customer.updated", {"id": "cus_123", "object": "customer"})
    assert answer.status_code == 200
    assert answer.json() == {"received": True, "duplicate": False, "handled": False}


def test_refunds_debit_once_whatever_the_order(env: BillingEnv) -> None:
    member = env.member()
    intent = paid_top_up(env, member, 50)
    payments = stripe.StripeClient(
        env.platform.settings.stripe_secret_key,
        base_addresses={"api": env.stripe.url},
    )
    payments.v1.refunds.create({"payment_intent": intent, "amount": 1000})
    charge_id = str(env.stripe.object(intent)["latest_charge"])
    first = env.stripe.object(charge_id)
    payments.v1.refunds.create({"payment_intent": intent, "amount": 1500})
    second = env.stripe.object(charge_id)
    assert second["amount_refunded"] == 2500

    env.deliver("charge.refunded", second)  # the later refund arrives first
    env.deliver("charge.refunded", first)
    env.deliver("charge.refunded", second, event_id="evt_again")
    assert env.balance(member.org_id) == 25 * NANOS
    refunds = [e for e in env.ledger(member.org_id) if e.kind == "refund"]
    assert [e.amount_nanos for e in refunds] == [-25 * NANOS]


def test_a_refund_before_its_payment_is_known_asks_stripe_to_retry(env: BillingEnv) -> None:
    member = env.member()
    session_id = env.top_up(member, 25)
    env.stripe.complete_checkout(session_id)
    intent = str(env.stripe.object(session_id)["payment_intent"])
    stripe.StripeClient(
        env.platform.settings.stripe_secret_key, base_addresses={"api": env.stripe.url}
    ).v1.refunds.create({"payment_intent": intent})
    charge = env.stripe.object(str(env.stripe.object(intent)["latest_charge"]))
    body, header = env.stripe.event("charge.refunded", charge)
    early = env.post_webhook(body, header)
    assert early.status_code == 503
    assert early.json()["error"]["code"] == "retry_later"
    env.deliver("checkout.session.completed", env.stripe.object(session_id))
    assert env.post_webhook(body, header).status_code == 200  # Stripe's retry
    assert env.balance(member.org_id) == 0


def test_a_lost_dispute_debits_and_a_won_one_does_not(env: BillingEnv) -> None:
    member = env.member()
    intent = paid_top_up(env, member, 100)
    charge = str(env.stripe.object(intent)["latest_charge"])

    def dispute(dispute_id: str, status: str) -> dict[str, object]:
        return {
            "id": dispute_id,
            "object": "dispute",
            "amount": 10000,
            "charge": charge,
            "payment_intent": intent,
            "currency": "usd",
            "status": status,
            "reason": "fraudulent",
        }

    env.deliver("charge.dispute.closed", dispute("dp_won", "won"))
    assert env.balance(member.org_id) == 100 * NANOS
    env.deliver("charge.dispute.closed", dispute("dp_lost", "lost"))
    env.deliver("charge.dispute.closed", dispute("dp_lost", "lost"))
    assert env.balance(member.org_id) == 0
