"""Custom pods for members: your container on GPUs, billed per second.

As with deployments, the API records what is wanted (a new pod is `pending`, a stop is
`stopping`, a termination `terminating`) and the compute worker makes the provider calls
(`gptapi.compute.pods`). A pod needs a container provider: without one (the embedded
default runs llama.cpp models only) creating a pod is refused, never faked.
"""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.compute import events
from gptapi.compute.pod_totals import PodTotals, pod_run_totals
from gptapi.compute.price_list import PriceList
from gptapi.compute.prices import Estimate
from gptapi.compute.provider import container_provider
from gptapi.console.audit import record_change
from gptapi.console.compute import repository
from gptapi.console.compute.schemas import PodConnection, PodCreate, PodOut
from gptapi.console.compute.service import Providers, check_funds, estimate_out, price_of
from gptapi.console.deps import OrgContext
from gptapi.console.errors import ApiError, conflict, not_found
from gptapi.kit.clock import Clock
from gptapi.models import Pod

NO_CONTAINER_PROVIDER = (
    "Custom pods need a container provider, and this platform has none: it runs llama.cpp "
    "models only. Its operator can configure RunPod (RUNPOD_API_KEY)."
)


def pod_out(pod: Pod, totals: PodTotals) -> PodOut:
    price = Estimate(pod.gpu_nanos_per_hour, pod.storage_nanos_per_hour)
    return PodOut(
        id=pod.id,
        name=pod.name,
        provider=pod.provider,
        image=pod.image,
        gpu_type=pod.gpu_type,
        gpu_count=pod.gpu_count,
        cloud_type=pod.cloud_type,
        storage_gb=pod.storage_gb,
        ports=list(pod.ports),
        env_names=sorted(pod.env),
        state=pod.state,
        state_reason=pod.state_reason,
        price=estimate_out(price),
        connection=PodConnection.model_validate(pod.connection) if pod.connection else None,
        created_at=pod.created_at,
        ready_at=pod.ready_at,
        runtime_seconds=totals.gpu_seconds,
        gpu_cost_nanos=totals.gpu_nanos,
        storage_cost_nanos=totals.storage_nanos,
        cost_nanos=totals.gpu_nanos + totals.storage_nanos,
    )


async def describe(db: AsyncSession, pod: Pod) -> PodOut:
    totals = await pod_run_totals(db, [pod.id])
    return pod_out(pod, totals.get(pod.id, PodTotals()))


async def list_pods(db: AsyncSession, ctx: OrgContext) -> list[PodOut]:
    rows = await repository.pods(db, ctx.organization.id)
    totals = await pod_run_totals(db, [p.id for p in rows])
    return [pod_out(p, totals.get(p.id, PodTotals())) for p in rows]


async def get_pod(db: AsyncSession, ctx: OrgContext, pod_id: str) -> Pod:
    # Another organisation's pod is exactly as absent as one that never existed.
    pod = await repository.pod(db, ctx.organization.id, pod_id)
    if pod is None:
        raise not_found("pod")
    return pod


async def create(
    db: AsyncSession,
    ctx: OrgContext,
    body: PodCreate,
    prices: PriceList,
    providers: Providers,
    clock: Clock,
) -> Pod:
    cost = price_of(prices, body)
    provider = container_provider(providers)
    if provider is None:
        raise ApiError(409, "no_container_provider", NO_CONTAINER_PROVIDER)
    check_funds(ctx, cost.nanos_per_hour)
    now = clock.now()
    pod_id = f"pod_{secrets.token_hex(8)}"
    pod = Pod(
        id=pod_id,
        organization_id=ctx.organization.id,
        name=body.name or pod_id,
        provider=provider.name,
        image=body.image,
        gpu_type=body.gpu_type,
        gpu_count=body.gpu_count,
        cloud_type=body.cloud_type.value,
        storage_gb=body.storage_gb,
        ports=list(body.ports),
        env=dict(body.env),
        gpu_nanos_per_hour=cost.gpu_nanos_per_hour,
        storage_nanos_per_hour=cost.storage_nanos_per_hour,
        state="pending",
        state_reason="",
        created_by=ctx.viewer.user.id,
        created_at=now,
        updated_at=now,
    )
    db.add(pod)
    await events.changed(db, pod, None, "pending", "", now)
    record_change(
        db,
        ctx,
        "pod.create",
        target_type="pod",
        target_id=pod_id,
        # Environment names only: their values may be secrets.
        data={
            "name": pod.name,
            "image": pod.image,
            "gpu_type": pod.gpu_type,
            "gpu_count": pod.gpu_count,
            "cloud_type": pod.cloud_type,
            "storage_gb": pod.storage_gb,
            "env_names": sorted(pod.env),
        },
    )
    await db.commit()
    return pod


async def _change(
    db: AsyncSession, ctx: OrgContext, pod: Pod, target: str, action: str, clock: Clock
) -> None:
    now = clock.now()
    await events.changed(db, pod, pod.state, target, "", now)
    pod.state = target
    pod.state_reason = ""
    pod.updated_at = now
    record_change(db, ctx, action, target_type="pod", target_id=pod.id)
    await db.commit()


async def stop(db: AsyncSession, ctx: OrgContext, pod: Pod, clock: Clock) -> None:
    if pod.state in ("stopping", "stopped", "failed"):
        return  # stopping twice is one stop
    if pod.state == "terminating":
        raise conflict("The pod is being terminated.")
    await _change(db, ctx, pod, "stopping", "pod.stop", clock)


async def start(db: AsyncSession, ctx: OrgContext, pod: Pod, clock: Clock) -> None:
    if pod.state in ("pending", "starting", "running"):
        return
    if pod.state not in ("stopped", "failed"):
        raise conflict(f"A {pod.state} pod cannot be started; wait for it.")
    check_funds(ctx, pod.gpu_nanos_per_hour + pod.storage_nanos_per_hour)
    await _change(db, ctx, pod, "pending", "pod.start", clock)


async def terminate(db: AsyncSession, ctx: OrgContext, pod: Pod, clock: Clock) -> None:
    if pod.state == "terminating":
        return  # terminating twice is one termination
    await _change(db, ctx, pod, "terminating", "pod.terminate", clock)
