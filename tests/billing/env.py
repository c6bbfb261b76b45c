"""A platform wired to the Stripe double, with helpers to pay, deliver events and read the
books. The billing worker is slowed to a crawl so tests run its steps when they choose."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.billing.alerts import check_balances
from gptapi.billing.autorefill import refill, refill_due
from gptapi.billing.stripe_client import Payments
from gptapi.kit.clock import ManualClock
from gptapi.kit.money import dollars_to_nanos
from gptapi.mail.transports import DevMailbox
from gptapi.models import (
    BillingAccount,
    CreditTransaction,
    Model,
    Organization,
    StripePayment,
    UsageHourly,
    UsageLog,
    User,
)
from tests.support.coinbase_double import (
    API_KEY as COMMERCE_KEY,
    WEBHOOK_SECRET as COMMERCE_SECRET,
    CoinbaseDouble,
)
from tests.support.console import Member, sign_in
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings
from tests.support.stripe_double import API_KEY, PLANS, WEBHOOK_SECRET, StripeDouble

T = TypeVar("T")
WEBHOOK = "/api/stripe/webhook"
COMMERCE_WEBHOOK = "/api/coinbase/webhook"


@dataclass
class BillingEnv:
    platform: Platform
    stripe: StripeDouble
    mailbox: DevMailbox
    clock: ManualClock
    coinbase: CoinbaseDouble

    @property
    def payments(self) -> Payments:
        return Payments(self.platform.settings)

    def member(self, role: str = "owner", org_id: uuid.UUID | None = None) -> Member:
        return sign_in(self.platform, org_id=org_id, role=role)

    def base(self, member: Member) -> str:
        return f"/api/orgs/{member.org_id}/billing"

    # -- money
    def top_up(self, member: Member, dollars: int, *, save_card: bool = False) -> str:
        response = member.client.post(
            f"{self.base(member)}/checkout", json={"amount_usd": dollars, "save_card": save_card}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def deliver(self, type_: str, obj: dict[str, Any], **kwargs: Any) -> httpx.Response:
        body, header = self.stripe.event(type_, obj, **kwargs)
        return self.post_webhook(body, header)

    def post_webhook(self, body: bytes, header: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if header is not None:
            headers["Stripe-Signature"] = header
        return httpx.post(f"{self.platform.url}{WEBHOOK}", content=body, headers=headers)

    def deliver_crypto(self, type_: str, charge_id: str, **kwargs: Any) -> httpx.Response:
        body, signature = self.coinbase.event(type_, charge_id, **kwargs)
        return self.post_crypto_webhook(body, signature)

    def post_crypto_webhook(self, body: bytes, signature: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-CC-Webhook-Signature"] = signature
        return httpx.post(f"{self.platform.url}{COMMERCE_WEBHOOK}", content=body, headers=headers)

    def grant(self, organization_id: uuid.UUID, dollars: str, reason: str = "test") -> None:
        async def work(session: AsyncSession) -> None:
            organization = await session.get(Organization, organization_id)
            assert organization is not None
            await service.grant_credit(
                session, organization, dollars_to_nanos(dollars), reason=reason
            )

        self.platform.run(work)

    def add_usage(
        self,
        member: Member,
        model: str,
        cost_nanos: int,
        at: datetime,
        *,
        endpoint: str = "chat.completions",
        ledger: bool = True,
    ) -> str:
        """One metered request as the gateway's usage writer books it (`ledger=False`
        leaves out its ledger entry, as a broken writer would)."""
        request_id = f"req_{uuid.uuid4().hex}"

        async def work(session: AsyncSession) -> None:
            model_id = await session.scalar(select(Model.id).where(Model.internal_name == model))
            if model_id is None:
                row = Model(
                    name=model,
                    internal_name=model,
                    input_price_per_million_tokens=100,
                    output_price_per_million_tokens=200,
                )
                session.add(row)
                await session.flush()
                model_id = row.id
            organization = await session.get(Organization, member.org_id)
            user = await session.get(User, member.user_id)
            assert organization is not None and user is not None
            key, _ = await service.create_key(session, organization, user, name="usage")
            session.add(
                UsageLog(
                    request_id=request_id,
                    organization_id=member.org_id,
                    api_key_id=key.id,
                    user_id=member.user_id,
                    model_id=model_id,
                    endpoint=endpoint,
                    prompt_tokens=10,
                    completion_tokens=20,
                    cost_nanos=cost_nanos,
                    status=200,
                    outcome="completed",
                    metered_by="upstream",
                    latency_ms=5,
                    created_at=at,
                )
            )
            # The key is new, so its hour of the rollup is too.
            session.add(
                UsageHourly(
                    organization_id=member.org_id,
                    hour=at.astimezone(UTC).replace(minute=0, second=0, microsecond=0),
                    api_key_id=key.id,
                    model_id=model_id,
                    requests=1,
                    prompt_tokens=10,
                    completion_tokens=20,
                    cost_nanos=cost_nanos,
                )
            )
            if ledger:
                session.add(
                    CreditTransaction(
                        organization_id=member.org_id,
                        amount_nanos=-cost_nanos,
                        kind="usage",
                        idempotency_key=f"usage:{request_id}",
                        description=f"{model} {endpoint}",
                        created_at=at,
                    )
                )
                organization.balance_nanos -= cost_nanos

        self.platform.run(work)
        return request_id

    # -- the worker's steps, run when the test says
    def refill_due(self) -> None:
        self.platform.portal.call(
            refill_due(self.platform.sessions, self.payments, self.mailbox, self.clock)
        )

    def refill_concurrently(self, organization_id: uuid.UUID, times: int) -> list[str | None]:
        import asyncio

        async def all_at_once() -> list[str | None]:
            payments = self.payments
            return list(
                await asyncio.gather(
                    *(
                        refill(
                            self.platform.sessions,
                            payments,
                            self.mailbox,
                            self.clock,
                            organization_id,
                        )
                        for _ in range(times)
                    )
                )
            )

        return self.platform.portal.call(all_at_once())

    def check_balances(self) -> None:
        threshold = dollars_to_nanos(self.platform.settings.low_balance_threshold_usd)
        self.platform.portal.call(check_balances(self.platform.sessions, self.mailbox, threshold))

    # -- the books
    def balance(self, organization_id: uuid.UUID) -> int:
        return self.scalar(
            select(Organization.balance_nanos).where(Organization.id == organization_id)
        )

    def ledger(self, organization_id: uuid.UUID) -> list[CreditTransaction]:
        return self.platform.rows(
            select(CreditTransaction)
            .where(CreditTransaction.organization_id == organization_id)
            .order_by(CreditTransaction.id)
        )

    def payments_of(self, organization_id: uuid.UUID) -> list[StripePayment]:
        return self.platform.rows(
            select(StripePayment)
            .where(StripePayment.organization_id == organization_id)
            .order_by(StripePayment.id)
        )

    def account(self, organization_id: uuid.UUID) -> BillingAccount:
        rows: list[BillingAccount] = self.platform.rows(
            select(BillingAccount).where(BillingAccount.organization_id == organization_id)
        )
        assert rows, "no billing account"
        return rows[0]

    def ledger_count(self, organization_id: uuid.UUID) -> int:
        return self.scalar(
            select(func.count()).where(CreditTransaction.organization_id == organization_id)
        )

    def scalar(self, statement: Any) -> int:
        async def work(session: AsyncSession) -> int:
            return int(await session.scalar(statement) or 0)

        return self.platform.run(work)

    def mails_to(self, email: str) -> list[str]:
        """Subjects of the mail sent to `email`, oldest first."""
        return [m.subject for m in reversed(self.mailbox.messages) if m.to == email]


@contextmanager
def billing_env(
    backend: str,
    tmp: Path,
    *,
    before_start: Callable[[Platform], None] | None = None,
    **overrides: Any,
) -> Iterator[BillingEnv]:
    double = StripeDouble().serve()
    coinbase = CoinbaseDouble().start()
    clock = ManualClock()
    mailbox = DevMailbox(size=1000)
    plans = [{**plan, "stripe_price_id": double.add_price(plan)} for plan in PLANS]
    settings: dict[str, Any] = {
        "stripe_secret_key": API_KEY,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_api_base": double.url,
        "billing_poll_seconds": 3600.0,
        "coinbase_commerce_api_key": COMMERCE_KEY,
        "coinbase_commerce_webhook_secret": COMMERCE_SECRET,
        "coinbase_commerce_api_base": coinbase.url,
        "subscription_plans": json.dumps(plans),
        **overrides,
    }
    try:
        with fresh_database(backend, tmp) as url:
            platform = Platform(test_settings(url, tmp, **settings), clock=clock, mailer=mailbox)
            if before_start is not None:
                before_start(platform)
            platform.start()
            try:
                yield BillingEnv(platform, double, mailbox, clock, coinbase)
            finally:
                platform.stop()
    finally:
        double.stop()
        coinbase.stop()


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results
