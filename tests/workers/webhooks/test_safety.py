"""The worker checks the destination again at every send and connects to the address it
checked, so a DNS answer that changes after registration (rebinding) cannot reach inside."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.kit.ssrf import EgressGuard
from gptapi.models import WebhookAttempt, WebhookEndpoint
from gptapi.webhooks.signing import generate_secret, secret_sealer
from tests.support.console import sign_in
from tests.support.webhooks import Hooks, Receiver


def _register(hooks: Hooks, organization_id: uuid.UUID, url: str) -> None:
    """As if the URL had passed the check when it resolved elsewhere."""

    async def work(session: AsyncSession) -> None:
        session.add(
            WebhookEndpoint(
                organization_id=organization_id,
                url=url,
                event_types=["balance.low"],
                secret=secret_sealer(hooks.secret_key).seal(generate_secret()),
            )
        )

    hooks.platform.run(work)


def _last_attempt_error(hooks: Hooks) -> str | None:
    async def work(session: AsyncSession) -> str | None:
        return await session.scalar(
            select(WebhookAttempt.error).order_by(WebhookAttempt.id.desc()).limit(1)
        )

    return hooks.platform.run(work)


def test_a_name_that_now_resolves_to_loopback_is_refused_at_send_time(
    hooks: Hooks, receiver: Receiver
) -> None:
    member = sign_in(hooks.platform)
    port = receiver.server.server_address[1]
    _register(hooks, member.org_id, f"https://hooks.example.com:{port}/hook")

    async def rebound(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    worker = hooks.make_worker(EgressGuard(allow_private=False, resolver=rebound))
    try:
        hooks.emit(member.org_id, "balance.low", {"balance_nanos": 1})
        assert hooks.run_worker(worker) == 1
    finally:
        hooks.platform.portal.call(worker.aclose())
    assert receiver.received == []
    error = _last_attempt_error(hooks)
    assert error is not None and error.startswith("blocked:") and "loopback" in error


def test_the_connection_goes_to_the_checked_address_with_the_original_host(
    hooks: Hooks, receiver: Receiver
) -> None:
    member = sign_in(hooks.platform)
    port = receiver.server.server_address[1]
    _register(hooks, member.org_id, f"http://hooks.invalid:{port}/hook")

    async def pinned(host: str, port: int) -> list[str]:
        assert host == "hooks.invalid"
        return ["127.0.0.1"]

    worker = hooks.make_worker(EgressGuard(allow_private=True, resolver=pinned))
    try:
        hooks.emit(member.org_id, "balance.low", {"balance_nanos": 1})
        assert hooks.run_worker(worker) == 1
    finally:
        hooks.platform.portal.call(worker.aclose())
    [request] = receiver.received
    assert request.headers["host"] == f"hooks.invalid:{port}"
    assert request.path == "/hook"
