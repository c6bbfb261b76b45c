"""GPU cloud for members: the catalog, and one-click deployments of its entries.

The API records what is wanted (a new deployment is `pending`, a stop is `stopping`); the
compute worker does the provider calls and the billing, so a slow provider never holds a
request open.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service as admin
from gptapi.compute import events
from gptapi.compute.billing import MINIMUM_SECONDS, cost_of
from gptapi.compute.catalog import CatalogEntry, Category
from gptapi.compute.price_list import PriceList
from gptapi.compute.prices import Estimate, estimate
from gptapi.compute.provider import ComputeProvider, container_provider
from gptapi.console.audit import record_change
from gptapi.console.compute import repository
from gptapi.console.compute.schemas import (
    CatalogEntryOut,
    CategoryOut,
    DeploymentCreate,
    DeploymentKey,
    DeploymentMetrics,
    DeploymentOut,
    GpuOut,
    InstanceLogs,
    PodEstimate,
    PodSpec,
)
from gptapi.console.deps import OrgContext
from gptapi.console.errors import ApiError, bad_request, conflict, not_found
from gptapi.gateway import announcements
from gptapi.kit.clock import Clock
from gptapi.kit.money import format_usd, nanos_to_decimal
from gptapi.kit.secrets import generate_deployment_key
from gptapi.models import ApiKey, Deployment, DeploymentReplica, Model, Pod

Providers = dict[str, ComputeProvider]
# Deployment keys are API keys of their own purpose: left out of the key list.
KEY_PURPOSE = "deployment"


def per_hour(nanos: int) -> str:
    return f"{nanos_to_decimal(nanos):.2f}"


def entry_out(entry: CatalogEntry, providers: Providers) -> CatalogEntryOut:
    return CatalogEntryOut(
        slug=entry.slug,
        name=entry.name,
        category=entry.category,
        description=entry.description,
        provider=entry.provider,
        deployable=entry.provider in providers,
        gpu_type=entry.gpu_type,
        gpu_count=entry.gpu_count,
        storage_gb=entry.storage_gb,
        price_per_hour=per_hour(entry.price_nanos_per_hour),
        price_nanos_per_hour=entry.price_nanos_per_hour,
        image=entry.image,
        args=list(entry.args),
    )


def list_catalog(
    prices: PriceList, providers: Providers, category: Category | None
) -> list[CatalogEntryOut]:
    return [
        entry_out(entry, providers)
        for entry in prices.listed()
        if category is None or entry.category is category
    ]


def categories(prices: PriceList) -> list[CategoryOut]:
    listed = prices.listed()
    return [CategoryOut(id=c, count=sum(1 for e in listed if e.category is c)) for c in Category]


def catalog_entry(prices: PriceList, slug: str, providers: Providers) -> CatalogEntryOut:
    entry = prices.entry(slug)
    if entry is None or not entry.enabled:
        raise not_found("catalog entry")
    return entry_out(entry, providers)


def _cold_start(deployment: Deployment, replicas: Sequence[DeploymentReplica]) -> float | None:
    """The last measured cold start: start asked to ready, of the instance that became
    ready last (the deployment's own, or a replica scale-out added)."""
    measured = [(r.ready_at, r.requested_at) for r in replicas if r.ready_at is not None]
    if deployment.ready_at and deployment.start_requested_at:
        measured.append((deployment.ready_at, deployment.start_requested_at))
    if not measured:
        return None
    ready, requested = max(measured)
    return (ready - requested).total_seconds()


def deployment_out(
    deployment: Deployment,
    totals: tuple[int, int],
    key_prefix: str | None,
    api_base: str,
    prices: PriceList,
    replicas: Sequence[DeploymentReplica] = (),
) -> DeploymentOut:
    entry = prices.entry(deployment.catalog_slug)
    own = 1 if deployment.state == "ready" else 0
    return DeploymentOut(
        id=deployment.id,
        name=deployment.name,
        catalog_slug=deployment.catalog_slug,
        provider=deployment.provider,
        mode=deployment.mode,
        min_replicas=deployment.min_replicas,
        max_replicas=deployment.max_replicas,
        replicas=own + sum(1 for r in replicas if r.state == "ready"),
        replicas_starting=sum(1 for r in replicas if r.state == "starting"),
        idle_timeout_seconds=deployment.idle_timeout_seconds,
        last_request_at=deployment.last_request_at,
        state=deployment.state,
        state_reason=deployment.state_reason,
        gpu_type=entry.gpu_type if entry else "",
        gpu_count=entry.gpu_count if entry else 0,
        price_per_hour=per_hour(deployment.price_nanos_per_hour),
        price_nanos_per_hour=deployment.price_nanos_per_hour,
        api_base=api_base,
        created_at=deployment.created_at,
        ready_at=deployment.ready_at,
        cold_start_seconds=_cold_start(deployment, replicas),
        runtime_seconds=totals[0],
        cost_nanos=totals[1],
        key_prefix=key_prefix,
    )


async def _describe_all(
    db: AsyncSession, rows: Sequence[Deployment], api_base: str, prices: PriceList
) -> list[DeploymentOut]:
    if not rows:
        return []
    ids = [d.id for d in rows]
    totals = await repository.run_totals(db, ids)
    replicas = await repository.replicas(db, ids)
    names = {_key_name(d): d.id for d in rows}
    prefixes = await repository.key_prefixes(db, rows[0].organization_id, list(names), KEY_PURPOSE)
    by_deployment = {names[name]: prefix for name, prefix in prefixes.items()}
    return [
        deployment_out(
            d,
            totals.get(d.id, (0, 0)),
            by_deployment.get(d.id),
            api_base,
            prices,
            replicas.get(d.id, ()),
        )
        for d in rows
    ]


async def describe(
    db: AsyncSession, deployment: Deployment, api_base: str, prices: PriceList
) -> DeploymentOut:
    return (await _describe_all(db, [deployment], api_base, prices))[0]


async def list_deployments(
    db: AsyncSession, ctx: OrgContext, api_base: str, prices: PriceList
) -> list[DeploymentOut]:
    rows = await repository.deployments(db, ctx.organization.id)
    return await _describe_all(db, rows, api_base, prices)


async def get_deployment(db: AsyncSession, ctx: OrgContext, deployment_id: str) -> Deployment:
    # Another organisation's deployment is exactly as absent as one that never existed.
    deployment = await repository.deployment(db, ctx.organization.id, deployment_id)
    if deployment is None:
        raise not_found("deployment")
    return deployment


def check_funds(ctx: OrgContext, price_nanos_per_hour: int) -> None:
    # Prepaid: the balance must at least cover the one-minute minimum of a start.
    needed = cost_of(price_nanos_per_hour, MINIMUM_SECONDS)
    if ctx.organization.balance_nanos < needed:
        raise ApiError(
            402,
            "insufficient_balance",
            f"The balance does not cover the first minute ({format_usd(needed, 4)}); "
            "add funds first.",
        )


async def create(
    db: AsyncSession,
    ctx: OrgContext,
    body: DeploymentCreate,
    prices: PriceList,
    providers: Providers,
    clock: Clock,
    public_models: set[str],
) -> Deployment:
    entry = prices.entry(body.catalog_slug)
    if entry is None or not entry.enabled:
        raise bad_request(
            f"No catalog entry {body.catalog_slug!r}; see GET /api/compute/catalog.",
            param="catalog_slug",
            code="invalid_value",
        )
    if entry.provider not in providers:
        raise bad_request(
            f"{entry.name} runs on the {entry.provider} provider, which this platform has "
            "not configured.",
            param="catalog_slug",
            code="provider_unavailable",
        )
    if body.min_replicas > body.max_replicas:
        raise bad_request("min_replicas exceeds max_replicas.", param="min_replicas")
    if body.mode == "always_on" and body.min_replicas < 1:
        raise bad_request(
            "An always-on deployment runs at least one replica.", param="min_replicas"
        )
    name = body.name or entry.slug
    if name in public_models:
        raise conflict(f"{name!r} is a public model's name; choose another.", code="name_taken")
    if await repository.name_taken(db, ctx.organization.id, name):
        raise conflict(f"A deployment named {name!r} exists already.", code="name_taken")
    check_funds(ctx, entry.price_nanos_per_hour)
    now = clock.now()
    deployment_id = f"dep_{secrets.token_hex(8)}"
    # The private model its /v1 requests are recorded against: zero token prices, because
    # a deployment is billed by the second. Inactive, so it is in no public list.
    model = Model(
        name=name,
        internal_name=deployment_id,
        input_price_per_million_tokens=0,
        output_price_per_million_tokens=0,
        kind="chat",
        description=f"Deployment of {entry.name}",
        active=False,
    )
    db.add(model)
    await db.flush()
    deployment = Deployment(
        id=deployment_id,
        organization_id=ctx.organization.id,
        name=name,
        catalog_slug=entry.slug,
        provider=entry.provider,
        mode=body.mode,
        min_replicas=body.min_replicas,
        max_replicas=body.max_replicas,
        idle_timeout_seconds=body.idle_timeout_seconds,
        model_id=model.id,
        price_nanos_per_hour=entry.price_nanos_per_hour,
        created_by=ctx.viewer.user.id,
        created_at=now,
        updated_at=now,
    )
    # Scale to zero starts at zero: nothing runs (or is charged) until the first request.
    initial = "idle" if body.min_replicas == 0 else "pending"
    deployment.state = initial
    db.add(deployment)
    await events.changed(db, deployment, None, initial, "", now)
    record_change(
        db,
        ctx,
        "deployment.create",
        target_type="deployment",
        target_id=deployment_id,
        data={"name": name, "catalog_slug": entry.slug, "mode": body.mode},
    )
    await db.commit()
    return deployment


async def stop(db: AsyncSession, ctx: OrgContext, deployment: Deployment, clock: Clock) -> None:
    if deployment.state in ("stopping", "stopped", "failed"):
        return  # stopping twice is one stop
    if deployment.state == "deleting":
        raise conflict("The deployment is being deleted.")
    # At zero nothing runs: nothing for the worker to end.
    target = "stopped" if deployment.state == "idle" else "stopping"
    await events.changed(db, deployment, deployment.state, target, "", clock.now())
    deployment.state = target
    deployment.state_reason = ""
    deployment.updated_at = clock.now()
    record_change(
        db,
        ctx,
        "deployment.stop",
        target_type="deployment",
        target_id=deployment.id,
        data={"name": deployment.name},
    )
    await db.commit()


async def start(
    db: AsyncSession, ctx: OrgContext, deployment: Deployment, prices: PriceList, clock: Clock
) -> None:
    if deployment.state in ("idle", "pending", "starting", "ready"):
        return
    if deployment.state != "stopped" and deployment.state != "failed":
        raise conflict(f"A {deployment.state} deployment cannot be started; wait for it.")
    entry = prices.entry(deployment.catalog_slug)
    if entry is None or not entry.enabled:
        raise conflict(
            f"Its catalog entry {deployment.catalog_slug!r} is no longer offered.",
            code="catalog_entry_disabled",
        )
    # A start from stopped takes the catalog's price of now; a running deployment keeps the
    # price it started with.
    check_funds(ctx, entry.price_nanos_per_hour)
    deployment.price_nanos_per_hour = entry.price_nanos_per_hour
    target = "idle" if deployment.min_replicas == 0 else "pending"
    await events.changed(db, deployment, deployment.state, target, "", clock.now())
    deployment.state = target
    deployment.state_reason = ""
    deployment.ready_at = None
    deployment.updated_at = clock.now()
    record_change(
        db,
        ctx,
        "deployment.start",
        target_type="deployment",
        target_id=deployment.id,
        data={"name": deployment.name},
    )
    await db.commit()


async def _revoke_keys(db: AsyncSession, deployment: Deployment, clock: Clock) -> None:
    revoked = await db.scalars(
        update(ApiKey)
        .where(
            ApiKey.organization_id == deployment.organization_id,
            ApiKey.purpose == KEY_PURPOSE,
            ApiKey.name == _key_name(deployment),
            ApiKey.revoked.is_(False),
        )
        .values(revoked=True, revoked_at=clock.now())
        .returning(ApiKey.key_hash)
    )
    announcements.revoked(db, revoked)


def _key_name(deployment: Deployment) -> str:
    return f"Deployment {deployment.id}"


async def regenerate_key(
    db: AsyncSession, ctx: OrgContext, deployment: Deployment, clock: Clock
) -> DeploymentKey:
    """A new sk_dep_ key for this deployment alone; the previous one is revoked with it."""
    await _revoke_keys(db, deployment, clock)
    key, secret = await admin.create_key(
        db,
        ctx.organization,
        ctx.viewer.user,
        name=_key_name(deployment),
        secret=generate_deployment_key(),
    )
    key.purpose = KEY_PURPOSE
    # Inference on its own deployment (its pool) and nothing else.
    key.allowed_models = [deployment.id]
    key.created_at = clock.now()
    record_change(
        db,
        ctx,
        "deployment.key_regenerate",
        target_type="deployment",
        target_id=deployment.id,
        data={"prefix": key.key_prefix},
    )
    await db.commit()
    return DeploymentKey(key_id=key.id, prefix=key.key_prefix, secret=secret)


async def delete(db: AsyncSession, ctx: OrgContext, deployment: Deployment, clock: Clock) -> None:
    if deployment.state == "deleting":
        return  # deleting twice is one delete
    await _revoke_keys(db, deployment, clock)
    now = clock.now()
    # Nothing runs when stopped or failed: nothing for the worker to end.
    target = "deleted" if deployment.state in ("idle", "stopped", "failed") else "deleting"
    await events.changed(db, deployment, deployment.state, target, "", now)
    deployment.state = target
    if target == "deleted":
        deployment.deleted_at = now
    deployment.updated_at = now
    record_change(
        db,
        ctx,
        "deployment.delete",
        target_type="deployment",
        target_id=deployment.id,
        data={"name": deployment.name},
    )
    await db.commit()


async def logs(row: Deployment | Pod, providers: Providers, tail: int) -> InstanceLogs:
    """The tail of a deployment's or a pod's log, from its provider; none once it is gone."""
    provider = providers.get(row.provider)
    if provider is None or row.instance_id is None:
        return InstanceLogs(lines=[])
    return InstanceLogs(lines=await provider.logs(row.instance_id, tail))


async def metrics(
    db: AsyncSession, deployment: Deployment, providers: Providers, clock: Clock
) -> DeploymentMetrics:
    requests, latency, tokens = await repository.request_stats(
        db, deployment, clock.now() - timedelta(hours=24)
    )
    seconds, cost = (await repository.run_totals(db, [deployment.id])).get(deployment.id, (0, 0))
    provider = providers.get(deployment.provider)
    reported: dict[str, float] = {}
    if provider is not None and deployment.instance_id is not None:
        reported = await provider.metrics(deployment.instance_id)
    return DeploymentMetrics(
        requests_24h=requests,
        avg_latency_ms_24h=latency,
        completion_tokens_24h=tokens,
        runtime_seconds=seconds,
        cost_nanos=cost,
        provider=reported,
    )


def gpus(prices: PriceList, providers: Providers) -> list[GpuOut]:
    pods = container_provider(providers) is not None
    return [
        GpuOut(
            gpu_type=gpu.gpu_type,
            memory_gb=gpu.memory_gb,
            community_per_hour=per_hour(gpu.community_nanos_per_hour),
            secure_per_hour=per_hour(gpu.secure_nanos_per_hour),
            pods_available=pods,
        )
        for gpu in prices.listed_gpus()
    ]


def price_of(prices: PriceList, spec: PodSpec) -> Estimate:
    gpu = prices.gpu(spec.gpu_type)
    if gpu is None:
        raise bad_request(
            f"Unknown GPU type {spec.gpu_type!r}; see GET /api/compute/gpus.",
            param="gpu_type",
            code="invalid_value",
        )
    return estimate(
        gpu, spec.gpu_count, spec.cloud_type, spec.storage_gb, prices.storage_nanos_per_gb_hour
    )


def estimate_out(cost: Estimate) -> PodEstimate:
    return PodEstimate(
        gpu_per_hour=per_hour(cost.gpu_nanos_per_hour),
        storage_per_hour=per_hour(cost.storage_nanos_per_hour),
        per_hour=per_hour(cost.nanos_per_hour),
        per_day=per_hour(cost.nanos_per_day),
        nanos_per_hour=cost.nanos_per_hour,
        nanos_per_day=cost.nanos_per_day,
    )


def estimate_pod(prices: PriceList, spec: PodSpec) -> PodEstimate:
    return estimate_out(price_of(prices, spec))
