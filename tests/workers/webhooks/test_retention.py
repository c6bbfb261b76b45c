"""The webhook log is pruned past WEBHOOK_RETENTION_DAYS: old events go with their deliveries
and attempts, in batches, but never one that is not fanned out yet or has a delivery still
pending, and nothing younger than the retention."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from gptapi.webhooks import repository as repo
from gptapi.workers.webhook_retention import prune_webhook_log
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings as settings_for

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
RETENTION_DAYS = 30
OLD = NOW - timedelta(days=RETENTION_DAYS, hours=1)
RECENT = NOW - timedelta(days=RETENTION_DAYS - 1)


@pytest.fixture
def database(backend: str, tmp_path: Path) -> Iterator[Platform]:
    with fresh_database(backend, tmp_path) as url:
        platform = Platform(settings_for(url, tmp_path))
        try:
            yield platform
        finally:
            platform.stop()


def _seed(platform: Platform) -> dict[str, uuid.UUID]:
    """One event per case, named by what should happen to it."""

    async def work(session: AsyncSession) -> dict[str, uuid.UUID]:
        _, organization = await service.create_user(session, f"{uuid.uuid4().hex[:8]}@x.test")
        endpoint = WebhookEndpoint(
            organization_id=organization.id, url="https://hooks.example.com/x", secret="sealed"
        )
        session.add(endpoint)
        await session.flush()
        cases = {
            # (created, fanned out, delivery statuses)
            "old delivered": (OLD, True, [repo.SUCCEEDED, repo.SUCCEEDED]),
            "old failed": (OLD, True, [repo.FAILED]),
            "old with no recipient": (OLD, True, []),
            "old delivered too": (OLD, True, [repo.SUCCEEDED]),
            "old still pending": (OLD, True, [repo.SUCCEEDED, repo.PENDING]),
            "old not fanned out": (OLD, False, []),
            "recent delivered": (RECENT, True, [repo.SUCCEEDED]),
        }
        ids: dict[str, uuid.UUID] = {}
        for name, (created, fanned_out, statuses) in cases.items():
            event = WebhookEvent(
                organization_id=organization.id,
                event_type="usage.created",
                data={},
                fanned_out=fanned_out,
                created_at=created,
            )
            session.add(event)
            await session.flush()
            ids[name] = event.id
            for status in statuses:
                # Deliveries of one event to several endpoints, as fan-out makes them.
                other = WebhookEndpoint(
                    organization_id=organization.id, url="https://h.example.com/y", secret="s"
                )
                session.add(other)
                await session.flush()
                delivery = WebhookDelivery(
                    endpoint_id=other.id, event_id=event.id, status=status, created_at=created
                )
                session.add(delivery)
                await session.flush()
                session.add(
                    WebhookAttempt(
                        delivery_id=delivery.id,
                        attempt=1,
                        url=other.url,
                        request_headers={},
                        created_at=created,
                    )
                )
        return ids

    return platform.run(work)


def _remaining(platform: Platform) -> tuple[set[uuid.UUID], int, int]:
    async def work(session: AsyncSession) -> tuple[set[uuid.UUID], int, int]:
        events = set((await session.scalars(select(WebhookEvent.id))).all())
        deliveries = await session.scalar(select(func.count()).select_from(WebhookDelivery))
        attempts = await session.scalar(select(func.count()).select_from(WebhookAttempt))
        return events, int(deliveries or 0), int(attempts or 0)

    return platform.run(work)


def test_old_finished_events_go_with_their_deliveries_and_attempts(database: Platform) -> None:
    ids = _seed(database)
    # A batch of two: the four prunable events take three rounds, the last one empty-handed.
    removed = database.portal.call(
        prune_webhook_log(database.sessions, NOW, RETENTION_DAYS, batch=2)
    )
    assert removed == 4
    events, deliveries, attempts = _remaining(database)
    kept = {"old still pending", "old not fanned out", "recent delivered"}
    assert events == {ids[name] for name in kept}
    # What is kept keeps its whole log: the pending event's two deliveries, the recent one.
    assert (deliveries, attempts) == (3, 3)
    # Nothing more is due until time passes.
    assert database.portal.call(prune_webhook_log(database.sessions, NOW, RETENTION_DAYS)) == 0
    later = NOW + timedelta(days=2)
    assert database.portal.call(prune_webhook_log(database.sessions, later, RETENTION_DAYS)) == 1
    assert _remaining(database)[0] == {ids["old still pending"], ids["old not fanned out"]}
