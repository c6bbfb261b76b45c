"""Top-ups through Stripe Checkout: the session, the success page, the webhook, receipts."""

from __future__ import annotations

from tests.billing.env import BillingEnv, at_once

NANOS = 1_000_000_000


def test_a_top_up_is_credited_once_with_its_receipt(env: BillingEnv) -> None:
    member = env.member()
    response = member.client.post(f"{env.base(member)}/checkout", json={"amount_usd": 25})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["url"].startswith(env.stripe.url)
    session = env.stripe.object(created["id"])
    assert session["amount_total"] == 2500
    assert session["customer"] == env.account(member.org_id).stripe_customer_id
    assert "{CHECKOUT_SESSION_ID}" in session["success_url"]

    env.stripe.complete_checkout(created["id"])
    answer = env.deliver("checkout.session.completed", env.stripe.object(created["id"]))
    assert answer.status_code == 200, answer.text

    assert env.balance(member.org_id) == 25 * NANOS
    [payment] = env.payments_of(member.org_id)
    assert payment.status == "paid"
    assert payment.receipt_url.startswith(f"{env.stripe.url}/receipts/")
    poll = member.client.get(f"{env.base(member)}/checkout/{created['id']}").json()
    assert poll["status"] == "paid"
    assert poll["receipt_url"] == payment.receipt_url
    assert env.balance(member.org_id) == 25 * NANOS


def test_the_same_event_delivered_twice_at_once_credits_once(env: BillingEnv) -> None:
    member = env.member()
    session_id = env.top_up(member, 50)
    env.stripe.complete_checkout(session_id)
    body, header = env.stripe.event("checkout.session.completed", env.stripe.object(session_id))
    answers = at_once([lambda: env.post_webhook(body, header) for _ in range(6)])
    assert [a.status_code for a in answers] == [200] * 6
    assert sorted(a.json()["duplicate"] for a in answers) == [False] + [True] * 5
    assert env.balance(member.org_id) == 50 * NANOS
    assert [e.kind for e in env.ledger(member.org_id)] == ["topup"]


def test_success_page_and_webhooks_racing_credit_once(env: BillingEnv) -> None:
    member = env.member()
    session_id = env.top_up(member, 100)
    env.stripe.complete_checkout(session_id)
    session = env.stripe.object(session_id)
    poll = f"{env.base(member)}/checkout/{session_id}"
    calls = [
        *(lambda: env.deliver("checkout.session.completed", session) for _ in range(3)),
        *(lambda: member.client.get(poll) for _ in range(3)),
    ]
    answers = at_once(calls)
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert env.balance(member.org_id) == 100 * NANOS
    assert len(env.ledger(member.org_id)) == 1


def test_the_success_page_credits_before_any_webhook(env: BillingEnv) -> None:
    member = env.member()
    session_id = env.top_up(member, 25)
    poll = f"{env.base(member)}/checkout/{session_id}"
    assert member.client.get(poll).json()["status"] == "open"
    env.stripe.complete_checkout(session_id)
    assert member.client.get(poll).json()["status"] == "paid"
    assert env.balance(member.org_id) == 25 * NANOS
    # The webhook arriving later changes nothing.
    env.deliver("checkout.session.completed", env.stripe.object(session_id))
    assert env.balance(member.org_id) == 25 * NANOS


def test_delayed_payment_is_credited_only_when_it_settles(env: BillingEnv) -> None:
    member = env.member()
    paid, failed = env.top_up(member, 25), env.top_up(member, 50)
    for session_id in (paid, failed):
        env.stripe.complete_checkout(session_id, delayed=True)
        env.deliver("checkout.session.completed", env.stripe.object(session_id))
    assert env.balance(member.org_id) == 0
    assert {p.status for p in env.payments_of(member.org_id)} == {"processing"}

    env.stripe.settle_async(paid, succeed=True)
    env.stripe.settle_async(failed, succeed=False)
    env.deliver("checkout.session.async_payment_succeeded", env.stripe.object(paid))
    env.deliver("checkout.session.async_payment_failed", env.stripe.object(failed))
    assert env.balance(member.org_id) == 25 * NANOS
    statuses = {p.checkout_session_id: p for p in env.payments_of(member.org_id)}
    assert statuses[paid].status == "paid"
    assert statuses[failed].status == "failed"
    assert statuses[failed].failure_message == "The bank declined the debit."


def test_an_old_event_arriving_late_does_not_undo_a_credit(env: BillingEnv) -> None:
    member = env.member()
    session_id = env.top_up(member, 25)
    env.stripe.complete_checkout(session_id, delayed=True)
    stale = env.stripe.object(session_id)
    env.stripe.settle_async(session_id, succeed=True)
    env.deliver("checkout.session.async_payment_succeeded", env.stripe.object(session_id))
    env.deliver("checkout.session.completed", stale)  # the older event, delivered last
    assert env.balance(member.org_id) == 25 * NANOS
    assert env.payments_of(member.org_id)[0].status == "paid"


def test_an_expired_checkout_is_recorded_and_credits_nothing(env: BillingEnv) -> None:
    member = env.member()
    session_id = env.top_up(member, 25)
    env.stripe.expire_checkout(session_id)
    assert env.deliver("checkout.session.expired", env.stripe.object(session_id)).status_code == 200
    assert env.payments_of(member.org_id)[0].status == "expired"
    assert env.balance(member.org_id) == 0


def test_amounts_out_of_range_are_refused_before_stripe_is_asked(env: BillingEnv) -> None:
    member = env.member()
    before = env.stripe.count("POST", "/v1/checkout/sessions")
    for amount in (0, 4.99, 5001, 10.001, -25, "ten"):
        response = member.client.post(f"{env.base(member)}/checkout", json={"amount_usd": amount})
        assert response.status_code in (400, 422), (amount, response.text)
        assert response.json()["error"]["param"] == "amount_usd"
    assert env.stripe.count("POST", "/v1/checkout/sessions") == before
    assert env.payments_of(member.org_id) == []
    custom = member.client.post(f"{env.base(member)}/checkout", json={"amount_usd": "12.34"})
    assert custom.status_code == 201
    assert env.stripe.object(custom.json()["id"])["amount_total"] == 1234


def test_one_stripe_customer_per_organisation(env: BillingEnv) -> None:
    member = env.member()
    first, second = env.top_up(member, 25), env.top_up(member, 25)
    assert env.stripe.object(first)["customer"] == env.stripe.object(second)["customer"]


def test_billing_role_may_pay_developer_may_not_see(env: BillingEnv) -> None:
    owner = env.member()
    payer = env.member(role="billing", org_id=owner.org_id)
    developer = env.member(role="developer", org_id=owner.org_id)
    assert (
        payer.client.post(f"{env.base(owner)}/checkout", json={"amount_usd": 25}).status_code == 201
    )
    assert developer.client.get(env.base(owner)).status_code == 403
    stranger = env.member()
    assert stranger.client.get(env.base(owner)).status_code == 404
    session_id = env.top_up(owner, 25)
    assert stranger.client.get(f"{env.base(stranger)}/checkout/{session_id}").status_code == 404
