"""Webhook delivery: fan events out to endpoints, send them, retry, and give up politely.

A delivery is claimed by setting a lease (owner + expiry) on its row; the attempt counter is
spent at claim time. If the worker dies mid-request, the lease expires and another worker
sends the same event again with the same `webhook-id` — at-least-once, never lost. On
PostgreSQL candidates are picked with FOR UPDATE SKIP LOCKED; everywhere the claim itself is a
conditional UPDATE, so two workers can never both own a delivery.

Endpoints are served fairly: each pass takes every endpoint's oldest due delivery before any
endpoint's second, and never leases more than `WEBHOOK_ENDPOINT_CONCURRENCY` deliveries of one
endpoint at a time. A subscriber with thousands of events queued, or one that answers slowly,
holds only its own few slots; everyone else's events go out in the next pass.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import httpx
from cryptography.fernet import InvalidToken
from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.config import Settings
from gptapi.kit.clock import Clock
from gptapi.kit.db import SessionMaker
from gptapi.kit.ssrf import BlockedDestination, EgressGuard
from gptapi.mail.message import Mail, Mailer
from gptapi.mail.recipients import admin_emails
from gptapi.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from gptapi.webhooks import repository as repo
from gptapi.webhooks.signing import headers as signed_headers, payload, secret_sealer
from gptapi.webhooks.usage_events import emit_usage_created, emit_usage_daily

if TYPE_CHECKING:
    from gptapi.workers import WorkerContext

log = logging.getLogger(__name__)

# Time to write the outcome after the response, on top of the request timeout.
LEASE_MARGIN_SECONDS = 5.0
# Only this much of a response is read and kept in the delivery log.
MAX_RESPONSE_BYTES = 4096
FAN_OUT_BATCH = 100
# Fan-out is a few inserts per event: a pass fans out up to this many batches, so a burst of
# one organisation's events does not hold another's behind it for many passes.
FAN_OUT_MAX_BATCHES = 50
DELIVERY_BATCH = 20
# Deliveries one worker process has on the wire at once.
MAX_IN_FLIGHT = 100
JITTER = 0.1
MAX_RETRY_AFTER_SECONDS = 86400.0


@dataclass(frozen=True)
class Claim:
    delivery_id: uuid.UUID
    attempt: int
    endpoint_id: uuid.UUID
    url: str
    message_id: str
    body: str
    signing_secrets: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    status: int | None
    body: str
    error: str
    latency_ms: int
    retry_after: float | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookWorker:
    def __init__(
        self,
        settings: Settings,
        sessions: SessionMaker,
        mailer: Mailer,
        clock: Clock,
        secret_key: bytes,
        *,
        guard: EgressGuard | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.mailer = mailer
        self.clock = clock
        self.sealer = secret_sealer(secret_key)
        self.guard = guard or EgressGuard(allow_private=settings.allow_private_webhook_urls)
        self.rng = rng or random.Random()
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Proxies from the environment would bypass the address pinning.
        self.client = httpx.AsyncClient(trust_env=False, follow_redirects=False)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def run_forever(self) -> None:
        """Poll; each claimed delivery is sent in its own task, so one slow receiver does not
        hold up the others. Cancelled, in-flight deliveries are retried once their lease ends."""
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                try:
                    claims = await self.step(MAX_IN_FLIGHT - len(in_flight))
                except Exception:
                    log.exception("webhook worker pass failed")
                    claims = []
                for claim in claims:
                    task = asyncio.create_task(self._deliver_logged(claim))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if len(claims) < DELIVERY_BATCH:  # a full batch: more are due, go on
                    await asyncio.sleep(self.settings.webhook_poll_seconds)
                else:
                    await asyncio.sleep(0)
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            await self.aclose()

    async def run_once(self) -> int:
        """One pass, waiting for its deliveries. Returns the number of attempts made."""
        claims = await self.step(DELIVERY_BATCH)
        await asyncio.gather(*(self.deliver(claim) for claim in claims))
        return len(claims)

    async def step(self, capacity: int) -> list[Claim]:
        """Derive usage events, fan out new events, and claim up to `capacity` due deliveries."""
        await emit_usage_created(self.sessions, self.clock.now())
        await emit_usage_daily(self.sessions, self.clock.now())
        await self.fan_out()
        return await self.claim(min(capacity, DELIVERY_BATCH)) if capacity > 0 else []

    async def _deliver_logged(self, claim: Claim) -> None:
        try:
            await self.deliver(claim)
        except Exception:
            log.exception("webhook delivery %s failed; retried after its lease", claim.delivery_id)

    async def fan_out(self) -> None:
        for _ in range(FAN_OUT_MAX_BATCHES):
            if await self._fan_out_batch() < FAN_OUT_BATCH:
                return

    async def _fan_out_batch(self) -> int:
        """One batch of events turned into deliveries; how many events it read."""
        async with self.sessions() as session:
            now = self.clock.now()
            events = await repo.unfanned_events(session, FAN_OUT_BATCH)
            for event in events:
                if not await repo.mark_fanned_out(session, event.id):
                    continue
                for endpoint in await repo.recipients(session, event):
                    session.add(
                        WebhookDelivery(
                            endpoint_id=endpoint.id,
                            event_id=event.id,
                            next_attempt_at=now,
                            created_at=now,
                            updated_at=now,
                        )
                    )
            await session.commit()
            return len(events)

    async def claim(self, limit: int = DELIVERY_BATCH) -> list[Claim]:
        now = self.clock.now()
        lease_until = now + timedelta(
            seconds=self.settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
        )
        claimable = (
            WebhookDelivery.status == repo.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(
                WebhookDelivery.lease_expires_at.is_(None),
                WebhookDelivery.lease_expires_at <= now,
            ),
        )
        async with self.sessions() as session:
            query = _fair_candidates(
                claimable, now, limit, self.settings.webhook_endpoint_concurrency
            )
            if (await session.connection()).dialect.name == "postgresql":
                # Row locks cannot be taken beside a window function: lock the chosen rows.
                query = (
                    select(WebhookDelivery.id)
                    .where(WebhookDelivery.id.in_(query))
                    .with_for_update(skip_locked=True)
                )
            claimed: list[uuid.UUID] = []
            for delivery_id in (await session.scalars(query)).all():
                result = await session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == delivery_id, *claimable)
                    .values(
                        lease_owner=self.owner,
                        lease_expires_at=lease_until,
                        attempts=WebhookDelivery.attempts + 1,
                        updated_at=now,
                    )
                )
                if result.rowcount:  # type: ignore[attr-defined]
                    claimed.append(delivery_id)
            await session.commit()
            claims = [await self._claim_of(session, delivery_id, now) for delivery_id in claimed]
            return [claim for claim in claims if claim is not None]

    async def _claim_of(
        self, session: AsyncSession, delivery_id: uuid.UUID, now: datetime
    ) -> Claim | None:
        """None if the endpoint was deleted since the claim."""
        row = (
            await session.execute(
                select(WebhookDelivery, WebhookEvent, WebhookEndpoint)
                .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(WebhookDelivery.id == delivery_id)
            )
        ).one_or_none()
        if row is None:
            return None
        delivery, event, endpoint = row
        return Claim(
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            endpoint_id=endpoint.id,
            url=endpoint.url,
            message_id=event.message_id,
            body=payload(event),
            signing_secrets=self._open(signing_secrets(endpoint, now)),
        )

    def _open(self, sealed: tuple[str, ...]) -> tuple[str, ...]:
        """Empty when SECRET_KEY changed since sealing: the attempt then fails visibly in the
        delivery log instead of stalling the worker, until the owner rotates the secret."""
        try:
            return tuple(self.sealer.open(secret) for secret in sealed)
        except InvalidToken:
            return ()

    async def deliver(self, claim: Claim) -> None:
        now = self.clock.now()
        request_headers = signed_headers(
            message_id=claim.message_id,
            body=claim.body,
            signing_secrets=claim.signing_secrets,
            now=now,
        )
        if claim.signing_secrets:
            outcome = await self._send(claim, request_headers)
        else:
            outcome = Outcome(None, "", "cannot sign: rotate the endpoint's secret", 0, None)
        await self._record(claim, request_headers, outcome)

    async def _send(self, claim: Claim, request_headers: dict[str, str]) -> Outcome:
        started = time.monotonic()

        def failed(error: str) -> Outcome:
            return Outcome(None, "", error, int((time.monotonic() - started) * 1000), None)

        try:
            response = await self.guard.post(
                self.client,
                claim.url,
                content=claim.body.encode(),
                headers=request_headers,
                timeout_seconds=self.settings.webhook_timeout_seconds,
                max_response_bytes=MAX_RESPONSE_BYTES,
            )
        except BlockedDestination as exc:
            return failed(f"blocked: {exc}")
        except TimeoutError:
            return failed(f"timeout after {self.settings.webhook_timeout_seconds:g}s")
        except httpx.HTTPError as exc:
            return failed(f"connection failed: {type(exc).__name__}: {exc}"[:500])
        return Outcome(
            response.status,
            response.body.decode("utf-8", "replace"),
            "",
            response.elapsed_ms,
            _retry_after(response.headers.get("retry-after")),
        )

    async def _record(
        self, claim: Claim, request_headers: dict[str, str], outcome: Outcome
    ) -> None:
        now = self.clock.now()
        disabled: WebhookEndpoint | None = None
        async with self.sessions() as session:
            endpoint = await _lock(session, claim.endpoint_id)
            delivery = await session.get(WebhookDelivery, claim.delivery_id)
            if endpoint is None or delivery is None:
                return  # the endpoint was deleted meanwhile, log and all
            session.add(
                WebhookAttempt(
                    delivery_id=claim.delivery_id,
                    attempt=claim.attempt,
                    url=claim.url,
                    request_headers=request_headers,
                    response_status=outcome.status,
                    response_body=outcome.body,
                    error=outcome.error,
                    latency_ms=outcome.latency_ms,
                    created_at=now,
                )
            )
            # A lease lost to a slow answer belongs to the worker that took over; only the
            # attempt is logged.
            if delivery.lease_owner == self.owner and delivery.status == repo.PENDING:
                disabled = await self._apply(session, delivery, endpoint, outcome, now)
            await session.commit()
        if disabled is not None:
            await self._notify_disabled(disabled)

    async def _apply(
        self,
        session: AsyncSession,
        delivery: WebhookDelivery,
        endpoint: WebhookEndpoint,
        outcome: Outcome,
        now: datetime,
    ) -> WebhookEndpoint | None:
        """Move the delivery on after an attempt; returns the endpoint if it got disabled."""
        delivery.lease_owner = None
        delivery.lease_expires_at = None
        delivery.last_response_status = outcome.status
        delivery.updated_at = now
        if outcome.ok:
            delivery.status = repo.SUCCEEDED
            delivery.next_attempt_at = None
            endpoint.failing_since = None
            return None
        if outcome.status == 410:
            return await _disable(session, delivery, endpoint, "gone", now)
        endpoint.failing_since = endpoint.failing_since or now
        schedule = self.settings.webhook_retry_schedule
        if delivery.attempts > len(schedule):
            delivery.status = repo.FAILED
            delivery.next_attempt_at = None
        else:
            delay = schedule[delivery.attempts - 1] * self.rng.uniform(1 - JITTER, 1 + JITTER)
            if outcome.retry_after is not None:
                delay = max(delay, outcome.retry_after)
            delivery.next_attempt_at = now + timedelta(seconds=delay)
        failing_for = now - endpoint.failing_since
        if failing_for >= timedelta(days=self.settings.webhook_disable_after_days):
            return await _disable(session, delivery, endpoint, "failing", now)
        return None

    async def _notify_disabled(self, endpoint: WebhookEndpoint) -> None:
        async with self.sessions() as session:
            recipients = await admin_emails(session, endpoint.organization_id)
        why = (
            "it answered 410 Gone"
            if endpoint.disabled_reason == "gone"
            else f"every delivery failed for {self.settings.webhook_disable_after_days:g} days"
        )
        text = (
            f"We stopped sending webhooks to {endpoint.url} because {why}.\n\n"
            "Events that were due are kept. Once the endpoint works again, re-enable it in the "
            f"console ({self.settings.base_url}) and replay the time range you missed.\n"
        )
        for address in recipients:
            try:
                await self.mailer.send(
                    Mail(address, "Webhook endpoint disabled", text, category="webhooks")
                )
            except Exception:
                log.exception("could not email %s about disabled endpoint %s", address, endpoint.id)


def _fair_candidates(
    claimable: tuple[ColumnElement[bool], ...], now: datetime, limit: int, per_endpoint: int
) -> Select[uuid.UUID]:
    """Due deliveries in round-robin order across endpoints: each endpoint's due deliveries
    are ranked oldest first, and rank 1 of every endpoint comes before any rank 2. An
    endpoint's deliveries already leased (in flight, here or in another worker) count
    against its `per_endpoint` slots."""
    delivery = WebhookDelivery
    leased = (
        select(delivery.endpoint_id, func.count().label("in_flight"))
        .where(delivery.status == repo.PENDING, delivery.lease_expires_at > now)
        .group_by(delivery.endpoint_id)
        .subquery()
    )
    ranked = (
        select(
            delivery.id,
            delivery.endpoint_id,
            delivery.next_attempt_at,
            func.row_number()
            .over(
                partition_by=delivery.endpoint_id,
                order_by=(delivery.next_attempt_at, delivery.created_at, delivery.id),
            )
            .label("rank"),
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == delivery.endpoint_id)
        .where(*claimable, WebhookEndpoint.enabled)
        .subquery()
    )
    return (
        select(ranked.c.id)
        .outerjoin(leased, leased.c.endpoint_id == ranked.c.endpoint_id)
        .where(ranked.c.rank + func.coalesce(leased.c.in_flight, 0) <= per_endpoint)
        .order_by(ranked.c.rank, ranked.c.next_attempt_at)
        .limit(limit)
    )


async def _lock(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
    """Outcomes for one endpoint are recorded one at a time, each seeing the last one's
    effects (a disable, its failed deliveries), and locking the endpoint before its deliveries
    keeps them from deadlocking. A no-op write takes the row lock on PostgreSQL and the write
    lock on SQLite, where SELECT … FOR UPDATE does not exist."""
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(updated_at=WebhookEndpoint.updated_at)
    )
    return await session.get(WebhookEndpoint, endpoint_id, populate_existing=True)


async def _disable(
    session: AsyncSession,
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    reason: str,
    now: datetime,
) -> WebhookEndpoint:
    delivery.status = repo.FAILED
    delivery.next_attempt_at = None
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.updated_at = now
    await session.flush()
    await repo.fail_pending(session, endpoint.id, now)
    return endpoint


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> tuple[str, ...]:
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        return (endpoint.secret, endpoint.previous_secret)
    return (endpoint.secret,)


def _retry_after(value: str | None) -> float | None:
    """Only the delay-seconds form; an HTTP date from a receiver's clock is not trusted."""
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value), MAX_RETRY_AFTER_SECONDS)


async def webhook_loop(ctx: WorkerContext) -> None:
    worker = WebhookWorker(
        ctx.settings, ctx.sessions, ctx.mailer, ctx.clock, ctx.runtime.console.secret_key
    )
    await worker.run_forever()
