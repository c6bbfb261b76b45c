"""Billing seen from /v1: many concurrent requests crossing the auto-refill threshold start
exactly one charge, and an organisation at zero is refused with 429 insufficient_quota.
Runs the gateway against a fake llama-server."""

from __future__ import annotations

from pathlib import Path

import httpx

from gptapi.gateway.upstream.registry import ServerSpec
from tests.billing.env import BillingEnv, at_once, billing_env
from tests.support.fake_upstream import FakeLlamaServer
from tests.support.platform import Platform
from tests.support.threads import wait_until

MODEL = "billed-chat"
PRICE = 5_000_000  # nano-dollars per token: $0.005, so a short chat costs about ten cents
NANOS = 1_000_000_000


def chat(env: BillingEnv, secret: str) -> httpx.Response:
    return httpx.post(
        f"{env.platform.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {secret}"},
        json={"model": MODEL, "messages": [{"role": "user", "content": "Hi."}], "max_tokens": 5},
        timeout=30,
    )


def key_for(env: BillingEnv, org_id: object) -> str:
    from sqlalchemy.ext.asyncio import AsyncSession

    from gptapi.admin import service
    from gptapi.models import Organization

    async def work(session: AsyncSession) -> str:
        organization = await session.get(Organization, org_id)
        assert organization is not None
        owner = await service.owner_of(session, organization)
        _, secret = await service.create_key(
            session, organization, owner, name="load", rpm_limit=0, tpm_limit=0
        )
        return secret

    return env.platform.run(work)


def test_concurrent_requests_crossing_the_threshold_charge_once(
    backend: str, tmp_path: Path
) -> None:
    with FakeLlamaServer() as upstream:

        def fleet(platform: Platform) -> None:
            platform.add_model(MODEL, input_price=PRICE, output_price=PRICE)
            platform.set_servers("billing", [ServerSpec(model=MODEL, base_url=upstream.url)])

        with billing_env(backend, tmp_path, before_start=fleet, billing_poll_seconds=0.05) as env:
            registry = env.platform.runtime.serving.registry
            wait_until(lambda: all(s.healthy for s in registry.servers), timeout=15)
            member = env.member()
            session_id = env.top_up(member, 25, save_card=True)
            env.stripe.complete_checkout(session_id)
            env.deliver("checkout.session.completed", env.stripe.object(session_id))
            settings = {"enabled": True, "threshold_usd": 24, "amount_usd": 50}
            assert (
                member.client.put(f"{env.base(member)}/auto-refill", json=settings).status_code
                == 200
            )
            secret = key_for(env, member.org_id)

            answers = at_once([lambda: chat(env, secret) for _ in range(16)])
            assert [a.status_code for a in answers] == [200] * 16, answers[0].text
            wait_until(lambda: any(p.kind == "auto_refill" for p in env.payments_of(member.org_id)))
            wait_until(lambda: env.account(member.org_id).refill_started_at is None)

            refills = [p for p in env.payments_of(member.org_id) if p.kind == "auto_refill"]
            assert [(p.status, p.amount_cents) for p in refills] == [("paid", 5000)]
            assert env.stripe.count("POST", "/v1/payment_intents") == 1
            spent = sum(-e.amount_nanos for e in env.ledger(member.org_id) if e.kind == "usage")
            assert NANOS < spent < 25 * NANOS, spent  # the threshold was crossed, credit remained
            assert env.balance(member.org_id) == 75 * NANOS - spent


def test_an_organisation_at_zero_gets_insufficient_quota(backend: str, tmp_path: Path) -> None:
    with FakeLlamaServer() as upstream:

        def fleet(platform: Platform) -> None:
            platform.add_model(MODEL, input_price=PRICE, output_price=PRICE)
            platform.set_servers("billing", [ServerSpec(model=MODEL, base_url=upstream.url)])

        with billing_env(backend, tmp_path, before_start=fleet) as env:
            member = env.member()
            answer = chat(env, key_for(env, member.org_id))
            assert answer.status_code == 429
            assert answer.json()["error"]["code"] == "insufficient_quota"
