"""One organisation's busy or slow endpoint never holds back another's events: endpoints are
served round-robin, each with a bounded number of deliveries in flight. Measured in worker
passes and claims (the order deliveries go out in), never in seconds."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.outbox import emit
from gptapi.workers.webhooks import MAX_IN_FLIGHT, Claim
from tests.support.console import sign_in
from tests.support.webhooks import Hooks, Receiver

FLOOD = 250


def flood(hooks: Hooks, organization_id: uuid.UUID, count: int) -> None:
    """`count` events of one organisation, committed together ahead of anyone else's."""

    async def work(session: AsyncSession) -> None:
        for n in range(count):
            await emit(
                session,
                organization_id=organization_id,
                event_type="api_key.created",
                data={"name": f"key {n}"},
            )

    hooks.platform.run(work)


def test_a_flood_for_one_endpoint_does_not_delay_another_organisations_event(
    hooks: Hooks,
) -> None:
    busy, quiet = Receiver(), Receiver()
    try:
        member_a, member_b = sign_in(hooks.platform), sign_in(hooks.platform)
        hooks.subscribe(member_a, busy.url, "api_key.created")
        hooks.subscribe(member_b, quiet.url, "api_key.created")
        flood(hooks, member_a.org_id, FLOOD)
        hooks.emit(member_b.org_id, "api_key.created", {"name": "mine"})

        hooks.run_worker()  # the first pass, with the whole flood queued before it
        assert len(quiet.received) == 1
        assert len(busy.received) <= hooks.platform.settings.webhook_endpoint_concurrency

        while hooks.run_worker():
            pass
        assert len(busy.received) == FLOOD  # the flood still goes out, all of it
    finally:
        busy.stop()
        quiet.stop()


def test_a_slow_endpoint_holds_only_its_own_slots(hooks: Hooks, receiver: Receiver) -> None:
    slow, fast = sign_in(hooks.platform), sign_in(hooks.platform)
    slow_endpoint = hooks.subscribe(slow, "http://127.0.0.1:9/never-answers", "api_key.created")
    hooks.subscribe(fast, receiver.url, "api_key.created")
    flood(hooks, slow.org_id, 40)
    hooks.emit(fast.org_id, "api_key.created", {"name": "first"})
    worker = hooks.worker
    portal = hooks.platform.portal
    limit = hooks.platform.settings.webhook_endpoint_concurrency

    def of(claims: list[Claim], endpoint_id: str) -> list[Claim]:
        return [c for c in claims if str(c.endpoint_id) == endpoint_id]

    # The slow endpoint's claims stay on the wire (never delivered here): its slots are full.
    first = portal.call(worker.step(MAX_IN_FLIGHT))
    assert len(of(first, slow_endpoint["id"])) == limit
    [mine] = [c for c in first if str(c.endpoint_id) != slow_endpoint["id"]]
    portal.call(worker.deliver(mine))
    assert len(receiver.received) == 1

    hooks.emit(fast.org_id, "api_key.created", {"name": "second"})
    second = portal.call(worker.step(MAX_IN_FLIGHT))
    assert of(second, slow_endpoint["id"]) == []  # 36 due, but its slots are still taken
    [again] = second
    portal.call(worker.deliver(again))
    assert len(receiver.received) == 2
