"""Crypto top-ups through Coinbase Commerce (a loopback double): credited once on the
confirmed charge and never on pending, whatever order, duplicates, replays or forgeries
arrive; expired and underpaid charges are not credited until Commerce resolves them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.billing.reconcile import reconcile
from tests.billing.env import BillingEnv, at_once
from tests.support.coinbase_double import sign
from tests.support.console import Member

NANOS_PER_DOLLAR = 1_000_000_000


def start(env: BillingEnv, member: Member, dollars: str = "25.00") -> dict[str, Any]:
    response = member.client.post(f"{env.base(member)}/crypto", json={"amount_usd": dollars})
    assert response.status_code == 201, response.text
    charge: dict[str, Any] = response.json()
    assert charge["status"] == "new" and charge["hosted_url"].startswith(env.coinbase.url)
    return charge


def crypto_entries(env: BillingEnv, member: Member) -> list[int]:
    return [e.amount_nanos for e in env.ledger(member.org_id) if e.kind == "crypto"]


def books_balance(env: BillingEnv, member: Member) -> None:
    async def work(session: AsyncSession) -> list[object]:
        return [d for d in await reconcile(session) if d.organization_id == member.org_id]

    assert env.platform.run(work) == []


def test_pending_is_never_credited_confirmed_is_credited_once(env: BillingEnv) -> None:
    member = env.member()
    charge = start(env, member)
    env.coinbase.pay(charge["id"])
    pending = env.deliver_crypto("charge:pending", charge["id"])
    assert pending.status_code == 200 and pending.json()["status"] == "pending"
    assert env.balance(member.org_id) == 0

    env.coinbase.confirm(charge["id"])
    body, signature = env.coinbase.event("charge:confirmed", charge["id"])
    first = env.post_crypto_webhook(body, signature)
    assert first.status_code == 200 and first.json()["status"] == "confirmed"
    replay = env.post_crypto_webhook(body, signature)
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    again = env.deliver_crypto("charge:confirmed", charge["id"])  # a new event, same charge
    assert again.status_code == 200 and again.json()["duplicate"] is False
    late = env.deliver_crypto("charge:pending", charge["id"])  # an old event arriving late
    assert late.json()["status"] == "confirmed"

    assert crypto_entries(env, member) == [25 * NANOS_PER_DOLLAR]
    assert env.balance(member.org_id) == 25 * NANOS_PER_DOLLAR
    assert env.mails_to(member.email).count("Crypto payment received") == 1
    history = member.client.get(f"{env.base(member)}/transactions").json()["data"]
    [line] = [line for line in history if line["kind"] == "crypto"]
    assert (
        line["amount_nanos"] == 25 * NANOS_PER_DOLLAR
        and line["receipt_url"] == charge["hosted_url"]
    )
    books_balance(env, member)


def test_forged_and_tampered_deliveries_are_refused(env: BillingEnv) -> None:
    member = env.member()
    charge = start(env, member)
    env.coinbase.pay(charge["id"])
    env.coinbase.confirm(charge["id"])
    body, signature = env.coinbase.event("charge:confirmed", charge["id"])
    tampered = json.loads(body)
    tampered["event"]["data"]["pricing"]["local"]["amount"] = "2500.00"
    attempts = [
        (body, None),
        (body, "0" * 64),
        (body, sign(body, "someone-elses-secret")),
        (json.dumps(tampered).encode(), signature),
        (b"not json", sign(b"not json")),
    ]
    for payload, header in attempts:
        answer = env.post_crypto_webhook(payload, header)
        assert answer.status_code == 400, answer.text
    assert env.balance(member.org_id) == 0 and crypto_entries(env, member) == []


def test_duplicates_at_once_credit_once(env: BillingEnv) -> None:
    member = env.member()
    charge = start(env, member, "40.00")
    env.coinbase.pay(charge["id"])
    env.coinbase.confirm(charge["id"])
    body, signature = env.coinbase.event("charge:confirmed", charge["id"])
    others = [env.coinbase.event("charge:confirmed", charge["id"]) for _ in range(2)]
    answers = at_once(
        [lambda: env.post_crypto_webhook(body, signature) for _ in range(3)]
        + [lambda b=b, s=s: env.post_crypto_webhook(b, s) for b, s in others]
        + [lambda: member.client.get(f"{env.base(member)}/crypto/{charge['id']}")]
    )
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]
    assert crypto_entries(env, member) == [40 * NANOS_PER_DOLLAR]
    books_balance(env, member)


def test_expired_and_underpaid_charges_are_not_credited_until_resolved(env: BillingEnv) -> None:
    member = env.member()
    expired = start(env, member, "10.00")
    env.coinbase.expire(expired["id"])
    assert env.deliver_crypto("charge:failed", expired["id"]).json()["status"] == "expired"

    short = start(env, member, "50.00")
    env.coinbase.underpay(short["id"], "30.00")
    assert env.deliver_crypto("charge:failed", short["id"]).json()["status"] == "underpaid"
    listed = {c["id"]: c for c in member.client.get(f"{env.base(member)}/crypto").json()}
    assert listed[short["id"]]["received_usd"] == "30.00"
    assert listed[expired["id"]]["status"] == "expired"
    assert env.balance(member.org_id) == 0

    env.coinbase.resolve(short["id"])  # the merchant accepted the underpayment in Commerce
    assert env.deliver_crypto("charge:resolved", short["id"]).json()["status"] == "resolved"
    assert crypto_entries(env, member) == [30 * NANOS_PER_DOLLAR]  # what arrived, not asked
    books_balance(env, member)


def test_the_return_page_credits_a_confirmed_charge_before_its_webhook(env: BillingEnv) -> None:
    member = env.member()
    charge = start(env, member, "15.00")
    url = f"{env.base(member)}/crypto/{charge['id']}"
    assert member.client.get(url).json()["status"] == "new"
    env.coinbase.pay(charge["id"])
    env.coinbase.confirm(charge["id"])
    assert member.client.get(url).json()["status"] == "confirmed"
    assert env.deliver_crypto("charge:confirmed", charge["id"]).status_code == 200
    assert crypto_entries(env, member) == [15 * NANOS_PER_DOLLAR]
    other = env.member()
    assert other.client.get(f"{env.base(other)}/crypto/{charge['id']}").status_code == 404


def test_amounts_are_checked(env: BillingEnv) -> None:
    member = env.member()
    for amount in ("0.50", "99999.00"):
        answer = member.client.post(f"{env.base(member)}/crypto", json={"amount_usd": amount})
        assert answer.status_code == 400 and answer.json()["error"]["param"] == "amount_usd"
