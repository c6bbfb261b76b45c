"""Notification preferences: each person chooses which mails they get, every sender is held to
it (the one mailer drops what was turned off), every non-security mail carries a one-click
unsubscribe link (RFC 8058) that works without signing in, and security mail always goes."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.billing.alerts import check_balances
from gptapi.ledger import append_entry
from gptapi.mail.message import Mail
from gptapi.mail.preferences import CATEGORIES
from gptapi.mail.transports import DevMailbox
from gptapi.models import WebhookEvent
from tests.gateway.admission import on_server_loop
from tests.support.console import Member
from tests.support.platform import Platform

LOW = "Your API credit is running low"


def mailbox(console: Platform) -> DevMailbox:
    transport = console.runtime.console.mailer.transport
    assert isinstance(transport, DevMailbox)
    return transport


def mails_to(console: Platform, email: str) -> list[Mail]:
    return [m for m in mailbox(console).messages if m.to == email]


def send(console: Platform, mail: Mail) -> None:
    on_server_loop(console, console.runtime.console.mailer.send(mail))


def choices(member: Member) -> dict[str, bool]:
    response = member.client.get("/api/me/notifications")
    assert response.status_code == 200, response.text
    return {c["key"]: c["enabled"] for c in response.json()["categories"]}


def test_defaults_and_changes(member: Member) -> None:
    assert choices(member) == {c.key: c.default for c in CATEGORIES}
    assert choices(member)["product_news"] is False and choices(member)["low_balance"] is True
    changed = member.client.put("/api/me/notifications", json={"low_balance": False})
    assert changed.status_code == 200
    assert choices(member)["low_balance"] is False and choices(member)["payments"] is True


def test_unknown_kinds_and_nulls_are_refused(member: Member) -> None:
    unknown = member.client.put("/api/me/notifications", json={"security": False})
    assert unknown.status_code == 422 and unknown.json()["error"]["param"] == "security"
    null = member.client.put("/api/me/notifications", json={"payments": None})
    assert null.status_code == 400 and null.json()["error"]["param"] == "payments"
    assert choices(member)["payments"] is True


def test_a_sender_is_held_to_the_choice(console: Platform, member: Member) -> None:
    """The low-balance warning, sent by the billing worker, obeys the owner's choice."""

    async def fall_low(session: AsyncSession) -> None:
        for amount, key in ((10_000_000_000, "fund"), (-9_000_000_000, "spend")):
            await append_entry(
                session,
                organization_id=member.org_id,
                amount_nanos=amount,
                kind="grant" if amount > 0 else "adjustment",
                idempotency_key=f"{key}:{uuid.uuid4()}",
            )

    member.client.put("/api/me/notifications", json={"low_balance": False})
    console.run(fall_low)
    runtime = console.runtime.console
    on_server_loop(console, check_balances(runtime.sessions, runtime.mailer, 5_000_000_000))
    assert [m.subject for m in mails_to(console, member.email)] == []
    events = console.rows(
        select(WebhookEvent.event_type).where(WebhookEvent.organization_id == member.org_id)
    )
    assert "balance.low" in events  # the webhook event is not a mail: still emitted


def test_mail_carries_one_click_unsubscribe_that_works_signed_out(
    console: Platform, member: Member
) -> None:
    send(console, Mail(member.email, LOW, "Balance $1.", category="low_balance"))
    [mail] = mails_to(console, member.email)
    headers = dict(mail.headers)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    one_click = headers["List-Unsubscribe"].strip("<>")
    assert one_click.startswith(f"{console.settings.base_url}/api/notifications/unsubscribe?")
    token = parse_qs(urlsplit(one_click).query)["token"][0]
    assert f"/unsubscribe?token={token}" in mail.text and "Low balance" in mail.text

    anonymous = httpx.Client(base_url=console.url)
    described = anonymous.get("/api/notifications/unsubscribe", params={"token": token})
    assert described.status_code == 200 and described.json()["category"] == "low_balance"
    assert choices(member)["low_balance"] is True  # looking is not unsubscribing (prefetch)

    wrong_body = anonymous.post(
        "/api/notifications/unsubscribe", params={"token": token}, content=b"unsubscribe=all"
    )
    assert wrong_body.status_code == 400
    done = anonymous.post(
        "/api/notifications/unsubscribe",
        params={"token": token},
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and done.json()["unsubscribed"] is True
    assert choices(member)["low_balance"] is False
    again = anonymous.post("/api/notifications/unsubscribe", params={"token": token})
    assert again.status_code == 200  # a second click (or a retrying client) changes nothing

    send(console, Mail(member.email, LOW, "Balance $0.50.", category="low_balance"))
    assert len(mails_to(console, member.email)) == 1  # the second warning was not sent


def test_forged_tokens_are_refused(console: Platform, member: Member) -> None:
    send(console, Mail(member.email, "Renewal failed", "…", category="payments"))
    [mail] = mails_to(console, member.email)
    token = parse_qs(urlsplit(dict(mail.headers)["List-Unsubscribe"].strip("<>")).query)["token"][0]
    user, category, signature = token.split(".")
    forged = [
        f"{user}.low_balance.{signature}",  # another kind, same signature
        f"{uuid.uuid4().hex}.{category}.{signature}",  # someone else
        f"{user}.{category}.{signature[:-2]}xx",
        "not-a-token",
    ]
    anonymous = httpx.Client(base_url=console.url)
    for bad in forged:
        answer = anonymous.post("/api/notifications/unsubscribe", params={"token": bad})
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "invalid_token"
    assert choices(member)["payments"] is True and choices(member)["low_balance"] is True


def test_security_mail_cannot_be_turned_off(console: Platform, member: Member) -> None:
    everything_off = {c.key: False for c in CATEGORIES}
    assert member.client.put("/api/me/notifications", json=everything_off).status_code == 200
    send(console, Mail(member.email, "Reset your password", "Open the link…"))
    send(console, Mail(member.email, "Renewal failed", "…", category="payments"))
    [mail] = mails_to(console, member.email)
    assert mail.subject == "Reset your password" and mail.headers == ()
