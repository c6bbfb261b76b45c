"""The webhook worker against real receivers on loopback, driven step by step on a manual
clock: fan-out, signatures, the retry schedule, 410, disabling failing endpoints, and the
usage events it derives from usage_logs."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from gptapi.models import Model, UsageLog, WebhookDelivery, WebhookEndpoint
from gptapi.webhooks.usage_events import SETTLE
from gptapi.workers.webhooks import LEASE_MARGIN_SECONDS, Claim
from tests.support.console import Member, sign_in
from tests.support.webhooks import Hooks, Receiver, Reply


def _endpoint(hooks: Hooks, endpoint_id: str) -> WebhookEndpoint:
    async def work(session: AsyncSession) -> WebhookEndpoint:
        endpoint = await session.get(WebhookEndpoint, uuid.UUID(endpoint_id))
        assert endpoint is not None
        return endpoint

    return hooks.platform.run(work)


def _deliveries(hooks: Hooks, endpoint_id: str) -> list[WebhookDelivery]:
    async def work(session: AsyncSession) -> list[WebhookDelivery]:
        rows = await session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == uuid.UUID(endpoint_id))
            .order_by(WebhookDelivery.created_at)
        )
        return list(rows.all())

    return hooks.platform.run(work)


def test_events_reach_only_subscribed_endpoints_of_their_organisation_signed(
    hooks: Hooks, receiver: Receiver
) -> None:
    member = sign_in(hooks.platform)
    endpoint = hooks.subscribe(member, receiver.url, "balance.low")
    other = sign_in(hooks.platform)
    data = {"organization_id": str(member.org_id), "balance_nanos": 4, "threshold_nanos": 5}
    hooks.emit(member.org_id, "balance.low", data)
    hooks.emit(other.org_id, "balance.low", {"balance_nanos": 1})
    hooks.emit(member.org_id, "api_key.created", {"name": "x"})

    assert hooks.run_worker() == 1
    [request] = receiver.received
    message = Webhook(endpoint["secret"]).verify(request.body, request.headers)
    assert message["type"] == "balance.low"
    assert message["data"] == data
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["content-type"] == "application/json"
    assert hooks.run_worker() == 0


def test_platform_events_go_to_every_subscriber_with_one_webhook_id(hooks: Hooks) -> None:
    receivers = [Receiver(), Receiver()]
    try:
        for receiver in receivers:
            hooks.subscribe(sign_in(hooks.platform), receiver.url, "incident.created")
        hooks.emit(None, "incident.created", {"title": "Elevated errors"})
        assert hooks.run_worker() == 2
        ids = {r.received[0].headers["webhook-id"] for r in receivers}
        assert len(ids) == 1
    finally:
        for receiver in receivers:
            receiver.stop()


def test_failures_follow_the_schedule_with_jitter_then_give_up(hooks: Hooks) -> None:
    receiver = Receiver(default=Reply(500, body=b"boom"))
    try:
        member = sign_in(hooks.platform)
        endpoint = hooks.subscribe(member, receiver.url, "balance.low")
        hooks.emit(member.org_id, "balance.low", {"balance_nanos": 1})
        assert hooks.run_worker() == 1
        # schedule (5, 300, 1800) seconds, each ±10%
        for delay in (5, 300, 1800):
            hooks.clock.advance(delay * 0.9 - 0.5)
            assert hooks.run_worker() == 0
            hooks.clock.advance(delay * 0.2 + 1)
            assert hooks.run_worker() == 1
        [delivery] = _deliveries(hooks, endpoint["id"])
        assert delivery.status == "failed"
        assert delivery.attempts == 4
        hooks.clock.advance(86400)
        assert hooks.run_worker() == 0
        ids = {r.headers["webhook-id"] for r in receiver.received}
        stamps = [r.headers["webhook-timestamp"] for r in receiver.received]
        assert len(receiver.received) == 4 and len(ids) == 1 and len(set(stamps)) == 4
    finally:
        receiver.stop()


def test_retry_after_is_honoured(hooks: Hooks) -> None:
    receiver = Receiver()
    receiver.replies.append(Reply(429, headers={"retry-after": "1000"}))
    try:
        member = sign_in(hooks.platform)
        endpoint = hooks.subscribe(member, receiver.url, "balance.low")
        hooks.emit(member.org_id, "balance.low", {"balance_nanos": 1})
        hooks.run_worker()
        hooks.clock.advance(999)
        assert hooks.run_worker() == 0
        hooks.clock.advance(2)
        assert hooks.run_worker() == 1
        assert [d.status for d in _deliveries(hooks, endpoint["id"])] == ["succeeded"]
    finally:
        receiver.stop()


def test_410_disables_the_endpoint_and_tells_the_owner(hooks: Hooks) -> None:
    receiver = Receiver(default=Reply(410))
    try:
        member = sign_in(hooks.platform)
        endpoint = hooks.subscribe(member, receiver.url, "balance.low")
        hooks.emit(member.org_id, "balance.low", {"balance_nanos": 1})
        assert hooks.run_worker() == 1
        stored = _endpoint(hooks, endpoint["id"])
        assert (stored.enabled, stored.disabled_reason) == (False, "gone")
        [mail] = hooks.mailbox.messages
        assert mail.to == member.email
        assert receiver.url in mail.text

        hooks.emit(member.org_id, "balance.low", {"balance_nanos": 0})
        hooks.clock.advance(3600)
        assert hooks.run_worker() == 0
        assert len(receiver.received) == 1
    finally:
        receiver.stop()


def _failing_for_days(hooks: Hooks, member: Member, receiver: Receiver, days: float) -> str:
    endpoint = hooks.subscribe(member, receiver.url, "balance.low")
    hooks.emit(member.org_id, "balance.low", {"balance_nanos": 1})
    hooks.run_worker()
    hooks.clock.advance(days * 86400)
    hooks.emit(member.org_id, "balance.low", {"balance_nanos": 0})
    hooks.run_worker()
    return str(endpoint["id"])


def test_an_endpoint_failing_for_days_is_disabled_and_owners_emailed(hooks: Hooks) -> None:
    receiver = Receiver(default=Reply(500))
    try:
        member = sign_in(hooks.platform)
        admin = sign_in(hooks.platform, org_id=member.org_id, role="admin")
        sign_in(hooks.platform, org_id=member.org_id, role="developer")
        endpoint_id = _failing_for_days(hooks, member, receiver, 5)
        stored = _endpoint(hooks, endpoint_id)
        assert (stored.enabled, stored.disabled_reason) == (False, "failing")
        assert sorted(m.to for m in hooks.mailbox.messages) == sorted([member.email, admin.email])
        assert {d.status for d in _deliveries(hooks, endpoint_id)} == {"failed"}
    finally:
        receiver.stop()


def test_a_success_in_between_keeps_the_endpoint_enabled(hooks: Hooks) -> None:
    receiver = Receiver(default=Reply(500))
    receiver.replies.extend([Reply(500), Reply(200)])
    try:
        member = sign_in(hooks.platform)
        endpoint = hooks.subscribe(member, receiver.url, "balance.low")
        hooks.emit(member.org_id, "balance.low", {"balance_nanos": 1})
        hooks.run_worker()
        hooks.clock.advance(6)
        hooks.run_worker()  # the retry succeeds
        assert _endpoint(hooks, endpoint["id"]).failing_since is None
        hooks.clock.advance(5 * 86400)
        hooks.emit(member.org_id, "balance.low", {"balance_nanos": 0})
        hooks.run_worker()
        stored = _endpoint(hooks, endpoint["id"])
        assert stored.enabled and stored.failing_since == hooks.clock.now()
        assert not hooks.mailbox.messages
    finally:
        receiver.stop()


def test_a_redirect_is_a_failure_and_is_not_followed(hooks: Hooks) -> None:
    target = Receiver()
    redirecting = Receiver(default=Reply(302, headers={"location": target.url}))
    try:
        member = sign_in(hooks.platform)
        endpoint = hooks.subscribe(member, redirecting.url, "balance.low")
        hooks.emit(member.org_id, "balance.low", {"balance_nanos": 1})
        hooks.run_worker()
        assert len(redirecting.received) == 1
        assert target.received == []
        [delivery] = _deliveries(hooks, endpoint["id"])
        assert (delivery.status, delivery.last_response_status) == ("pending", 302)
    finally:
        target.stop()
        redirecting.stop()


def _add_usage(
    hooks: Hooks, organization_id: uuid.UUID, key_id: uuid.UUID, user_id: uuid.UUID, n: int
) -> list[str]:
    async def work(session: AsyncSession) -> list[str]:
        model = (await session.scalars(select(Model).order_by(Model.id))).first()
        assert model is not None
        ids = [f"req_{uuid.uuid4().hex[:24]}" for _ in range(n)]
        for request_id in ids:
            session.add(
                UsageLog(
                    request_id=request_id,
                    organization_id=organization_id,
                    api_key_id=key_id,
                    user_id=user_id,
                    model_id=model.id,
                    endpoint="chat.completions",
                    prompt_tokens=10,
                    completion_tokens=5,
                    cost_nanos=1000,
                    status=200,
                    outcome="completed",
                    metered_by="upstream",
                    latency_ms=12,
                    created_at=hooks.clock.now(),
                )
            )
        return ids

    return hooks.platform.run(work)


def test_usage_created_is_made_from_new_usage_rows_for_subscribers_only(
    hooks: Hooks, receiver: Receiver
) -> None:
    account = hooks.platform.account()
    member = sign_in(hooks.platform, org_id=account.organization_id)
    hooks.run_worker()  # starts the cursor: earlier usage is history, not news
    _add_usage(hooks, account.organization_id, account.key_id, account.user_id, 2)
    hooks.clock.advance(SETTLE.total_seconds())
    hooks.run_worker()  # nobody subscribed: the cursor moves on without events
    endpoint = hooks.subscribe(member, receiver.url, "usage.created")
    assert receiver.received == []

    fresh = _add_usage(hooks, account.organization_id, account.key_id, account.user_id, 3)
    hooks.run_worker()
    assert receiver.received == []  # not settled yet: a lower id may still be committing
    hooks.clock.advance(SETTLE.total_seconds())
    hooks.run_worker()
    messages = [Webhook(endpoint["secret"]).verify(r.body, r.headers) for r in receiver.received]
    assert sorted(m["data"]["request_id"] for m in messages) == sorted(fresh)
    assert {m["type"] for m in messages} == {"usage.created"}
    assert messages[0]["data"]["cost_nanos"] == 1000
    hooks.run_worker()
    assert len(receiver.received) == 3


def test_usage_daily_is_sent_once_after_the_day_closes(hooks: Hooks, receiver: Receiver) -> None:
    account = hooks.platform.account()
    member = sign_in(hooks.platform, org_id=account.organization_id)
    quiet = sign_in(hooks.platform)
    hooks.subscribe(member, receiver.url, "usage.daily")
    quiet_receiver = Receiver()
    try:
        hooks.subscribe(quiet, quiet_receiver.url, "usage.daily")
        hooks.run_worker()
        _add_usage(hooks, account.organization_id, account.key_id, account.user_id, 4)
        day = hooks.clock.now().date()
        hooks.run_worker()
        assert receiver.received == []

        midnight = hooks.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
        hooks.clock.advance(
            (midnight + timedelta(days=1, seconds=1) - hooks.clock.now()).total_seconds()
        )
        hooks.run_worker()
        hooks.run_worker()
        [request] = receiver.received
        data = json.loads(request.body)["data"]
        assert data["date"] == day.isoformat()
        assert (data["requests"], data["prompt_tokens"], data["cost_nanos"]) == (4, 40, 4000)
        assert [m["requests"] for m in data["models"]] == [4]
        [zero] = quiet_receiver.received
        assert json.loads(zero.body)["data"]["requests"] == 0
    finally:
        quiet_receiver.stop()


def test_two_workers_never_own_the_same_delivery_and_leases_expire(
    hooks: Hooks, receiver: Receiver
) -> None:
    member = sign_in(hooks.platform)
    hooks.subscribe(member, receiver.url, "balance.low")
    due = hooks.platform.settings.webhook_endpoint_concurrency  # all in flight at once
    for n in range(due):
        hooks.emit(member.org_id, "balance.low", {"balance_nanos": n})
    first, second, third = (hooks.make_worker() for _ in range(3))

    async def race() -> tuple[list[Claim], list[Claim]]:
        await first.fan_out()
        a, b = await asyncio.gather(first.claim(), second.claim())
        return a, b

    try:
        a, b = hooks.platform.portal.call(race())
        owned_a, owned_b = {c.delivery_id for c in a}, {c.delivery_id for c in b}
        assert not owned_a & owned_b
        assert len(owned_a | owned_b) == due
        assert hooks.platform.portal.call(third.claim()) == []

        lease = hooks.platform.settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
        hooks.clock.advance(lease + 1)
        taken_over = hooks.platform.portal.call(third.claim())
        assert {c.delivery_id for c in taken_over} == owned_a | owned_b
        assert {c.attempt for c in taken_over} == {2}
    finally:
        for worker in (first, second, third):
            hooks.platform.portal.call(worker.aclose())
    assert receiver.received == []
