"""Books of the GPU cloud for tests: a funded organisation with a deployment (and its run)
or a custom pod written straight to a real database, and the compute entries of its ledger."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.billing.reconcile import reconcile
from gptapi.kit.db import SessionMaker, create_engine, session_maker
from gptapi.ledger import append_entry
from gptapi.models import (
    CreditTransaction,
    Deployment,
    DeploymentRun,
    Model,
    Organization,
    Pod,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PRICE = 1_990_000_000  # $1.99 per hour: not a whole number of nano-dollars per second


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[SessionMaker]:
    engine = create_engine(url)
    try:
        yield session_maker(engine)
    finally:
        await engine.dispose()


async def add_deployment(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    name: str,
    slug: str,
    provider: str,
    state: str,
    price_nanos_per_hour: int,
    instance_id: str | None = None,
    at: datetime | None = None,
) -> str:
    """A deployment row and the private model it serves, as the console would create them."""
    deployment_id = f"dep_{uuid.uuid4().hex[:16]}"
    model = Model(
        name=name,
        internal_name=deployment_id,
        input_price_per_million_tokens=0,
        output_price_per_million_tokens=0,
        active=False,
    )
    session.add(model)
    await session.flush()
    stamps = {} if at is None else {"created_at": at, "updated_at": at}
    session.add(
        Deployment(
            id=deployment_id,
            organization_id=organization_id,
            name=name,
            catalog_slug=slug,
            provider=provider,
            state=state,
            instance_id=instance_id,
            model_id=model.id,
            price_nanos_per_hour=price_nanos_per_hour,
            **stamps,
        )
    )
    return deployment_id


async def setup(
    sessions: SessionMaker,
    *,
    state: str = "ready",
    slug: str = "llama-3.1-70b",
    provider: str = "runpod",
    credit: int = 100_000_000_000,
    run: bool = True,
    instance_id: str | None = "pod-1",
) -> tuple[uuid.UUID, str, int | None]:
    """An organisation with credit, a deployment in `state` and (if asked) its open run."""
    async with sessions() as session, session.begin():
        _, organization = await service.create_user(session, f"{uuid.uuid4().hex}@example.com")
        await service.grant_credit(session, organization, credit, reason="test credit")
        deployment_id = await add_deployment(
            session,
            organization.id,
            name="bot",
            slug=slug,
            provider=provider,
            state=state,
            instance_id=instance_id,
            price_nanos_per_hour=PRICE,
            at=T0,
        )
        await session.flush()
        run_id = None
        if run:
            row = DeploymentRun(
                deployment_id=deployment_id,
                organization_id=organization.id,
                price_nanos_per_hour=PRICE,
                started_at=T0,
                last_seen_at=T0,
            )
            session.add(row)
            await session.flush()
            run_id = row.id
        return organization.id, deployment_id, run_id


async def add_pod(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    name: str,
    state: str = "pending",
    storage_gb: int = 50,
    gpu_nanos_per_hour: int = PRICE,
    storage_nanos_per_hour: int = 100_000_000,
) -> str:
    """A custom pod on RunPod, as the console would create it."""
    pod_id = f"pod_{uuid.uuid4().hex[:16]}"
    session.add(
        Pod(
            id=pod_id,
            organization_id=organization_id,
            name=name,
            provider="runpod",
            image="pytorch/pytorch:2.1.0-cuda12.1-cudnn8-runtime",
            gpu_type="NVIDIA GeForce RTX 4090",
            gpu_count=1,
            cloud_type="COMMUNITY",
            storage_gb=storage_gb,
            ports=["8888/http", "22/tcp"],
            env={},
            gpu_nanos_per_hour=gpu_nanos_per_hour,
            storage_nanos_per_hour=storage_nanos_per_hour,
            state=state,
            created_at=T0,
            updated_at=T0,
        )
    )
    return pod_id


async def setup_pod(
    sessions: SessionMaker, *, name: str = "training", credit: int = 100_000_000_000
) -> tuple[uuid.UUID, str]:
    """An organisation with credit and a pending custom pod on RunPod."""
    async with sessions() as session, session.begin():
        _, organization = await service.create_user(session, f"{uuid.uuid4().hex}@example.com")
        await service.grant_credit(session, organization, credit, reason="test credit")
        return organization.id, await add_pod(session, organization.id, name=name)


async def books(
    sessions: SessionMaker, organization_id: uuid.UUID, kinds: tuple[str, ...] = ("compute",)
) -> tuple[int, int, int]:
    """(sum of the entries of those kinds, their count, the organisation's balance)."""
    async with sessions() as session:
        total, count = (
            await session.execute(
                select(
                    func.coalesce(func.sum(CreditTransaction.amount_nanos), 0),
                    func.count(CreditTransaction.id),
                ).where(
                    CreditTransaction.organization_id == organization_id,
                    CreditTransaction.kind.in_(kinds),
                )
            )
        ).one()
        organization = await session.get(Organization, organization_id)
        assert organization is not None
        return int(total), int(count), organization.balance_nanos


async def stray_charge_caught(
    sessions: SessionMaker, organization_id: uuid.UUID, kind: str
) -> list[tuple[str, int, int]]:
    """Reconciliation of books that balance, then of the same with a one-nano charge of
    `kind` that no run accounts for: what it finds then, as (check, expected, actual)."""
    async with sessions() as session:
        assert [d for d in await reconcile(session) if d.organization_id == organization_id] == []
    async with sessions() as session, session.begin():
        await append_entry(
            session,
            organization_id=organization_id,
            amount_nanos=-1,
            kind=kind,
            idempotency_key=f"{kind}:stray",
        )
    async with sessions() as session:
        found = [d for d in await reconcile(session) if d.organization_id == organization_id]
    return [(d.check, d.expected, d.actual) for d in found]
