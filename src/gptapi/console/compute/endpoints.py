"""/api/compute/catalog (public): the deployable model catalog;
/api/orgs/{org_id}/deployments: one-click deployments, their logs and metrics (live too)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from gptapi.compute.catalog import Category
from gptapi.compute.provider import ComputeProvider
from gptapi.console.compute import live, service
from gptapi.console.compute.schemas import (
    CatalogEntryOut,
    CategoryOut,
    DeploymentCreate,
    DeploymentKey,
    DeploymentMetrics,
    DeploymentOut,
    DeploymentSeries,
    GpuOut,
    InstanceLogs,
    PodEstimate,
    PodSpec,
)
from gptapi.console.deps import DbSession, OrgContext, State, require
from gptapi.console.permissions import Capability
from gptapi.kit.key_scopes import Scope

router = APIRouter(tags=["compute"])
DEPLOYMENTS = "/orgs/{org_id}/deployments"
# How often a followed log is looked at for new lines.
LOG_POLL_SECONDS = 1.0
ONE = DEPLOYMENTS + "/{deployment_id}"

ComputeRead = Annotated[OrgContext, Depends(require(Capability.COMPUTE_READ))]
ComputeWrite = Annotated[OrgContext, Depends(require(Capability.COMPUTE_WRITE))]
# Issuing a deployment key is a deployment change a member makes, and a key an API key makes.
DeploymentKeyWrite = Annotated[
    OrgContext, Depends(require(Capability.COMPUTE_WRITE, scope=Scope.KEYS_WRITE))
]


def providers_of(request: Request) -> dict[str, ComputeProvider]:
    providers: dict[str, ComputeProvider] = request.app.state.runtime.compute.providers
    return providers


def _api_base(state: State) -> str:
    return state.settings.base_url.rstrip("/") + "/v1"


@router.get("/compute/catalog", summary="Deployable models with hourly prices (public)")
async def list_catalog(
    request: Request, state: State, category: Category | None = None
) -> list[CatalogEntryOut]:
    return service.list_catalog(state.prices.current, providers_of(request), category)


@router.get("/compute/catalog/categories", summary="Catalog categories and their sizes (public)")
async def catalog_categories(state: State) -> list[CategoryOut]:
    return service.categories(state.prices.current)


@router.get("/compute/catalog/{slug}", summary="One catalog entry (public)")
async def catalog_entry(request: Request, state: State, slug: str) -> CatalogEntryOut:
    return service.catalog_entry(state.prices.current, slug, providers_of(request))


@router.get("/compute/gpus", summary="GPU types with Community and Secure prices (public)")
async def list_gpus(request: Request, state: State) -> list[GpuOut]:
    return service.gpus(state.prices.current, providers_of(request))


@router.post(
    "/compute/pods/estimate",
    summary="What a custom pod would cost per hour and per day (public; creates nothing)",
)
async def estimate_pod(spec: PodSpec, state: State) -> PodEstimate:
    return service.estimate_pod(state.prices.current, spec)


@router.get(DEPLOYMENTS, summary="The organization's deployments")
async def list_deployments(ctx: ComputeRead, db: DbSession, state: State) -> list[DeploymentOut]:
    return await service.list_deployments(db, ctx, _api_base(state), state.prices.current)


@router.post(DEPLOYMENTS, status_code=201, summary="Deploy a catalog entry; billed per second")
async def create_deployment(
    ctx: ComputeWrite, body: DeploymentCreate, db: DbSession, state: State, request: Request
) -> DeploymentOut:
    public = {m.internal_name for m in request.app.state.serving.catalog.all()}
    deployment = await service.create(
        db, ctx, body, state.prices.current, providers_of(request), state.clock, public
    )
    return await service.describe(db, deployment, _api_base(state), state.prices.current)


@router.get(ONE, summary="One deployment: state, price, runtime and cost so far")
async def get_deployment(
    ctx: ComputeRead, deployment_id: str, db: DbSession, state: State
) -> DeploymentOut:
    deployment = await service.get_deployment(db, ctx, deployment_id)
    return await service.describe(db, deployment, _api_base(state), state.prices.current)


@router.post(ONE + "/stop", status_code=202, summary="Stop it; billing stops with it")
async def stop_deployment(
    ctx: ComputeWrite, deployment_id: str, db: DbSession, state: State
) -> DeploymentOut:
    deployment = await service.get_deployment(db, ctx, deployment_id)
    await service.stop(db, ctx, deployment, state.clock)
    return await service.describe(db, deployment, _api_base(state), state.prices.current)


@router.post(ONE + "/start", status_code=202, summary="Start a stopped or failed deployment")
async def start_deployment(
    ctx: ComputeWrite, deployment_id: str, db: DbSession, state: State
) -> DeploymentOut:
    deployment = await service.get_deployment(db, ctx, deployment_id)
    await service.start(db, ctx, deployment, state.prices.current, state.clock)
    return await service.describe(db, deployment, _api_base(state), state.prices.current)


@router.delete(ONE, status_code=202, summary="Stop it for good and remove it")
async def delete_deployment(
    ctx: ComputeWrite, deployment_id: str, db: DbSession, state: State
) -> DeploymentOut:
    deployment = await service.get_deployment(db, ctx, deployment_id)
    await service.delete(db, ctx, deployment, state.clock)
    return await service.describe(db, deployment, _api_base(state), state.prices.current)


@router.post(
    ONE + "/key",
    status_code=201,
    summary="A new sk_dep_ key for this deployment only; the previous one stops working",
)
async def regenerate_deployment_key(
    ctx: DeploymentKeyWrite, deployment_id: str, db: DbSession, state: State
) -> DeploymentKey:
    deployment = await service.get_deployment(db, ctx, deployment_id)
    return await service.regenerate_key(db, ctx, deployment, state.clock)


@router.get(ONE + "/logs", summary="The tail of its logs")
async def deployment_logs(
    ctx: ComputeRead,
    deployment_id: str,
    db: DbSession,
    request: Request,
    tail: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> InstanceLogs:
    deployment = await service.get_deployment(db, ctx, deployment_id)
    return await service.logs(deployment, providers_of(request), tail)


@router.get(ONE + "/metrics", summary="Requests and latency over 24 h, runtime, cost")
async def deployment_metrics(
    ctx: ComputeRead, deployment_id: str, db: DbSession, state: State, request: Request
) -> DeploymentMetrics:
    deployment = await service.get_deployment(db, ctx, deployment_id)
    return await service.metrics(db, deployment, providers_of(request), state.clock)


@router.get(
    ONE + "/logs/stream",
    summary="Its log live: the tail, then each new line (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def deployment_log_stream(
    ctx: ComputeRead,
    deployment_id: str,
    db: DbSession,
    state: State,
    request: Request,
    tail: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> StreamingResponse:
    deployment = await service.get_deployment(db, ctx, deployment_id)
    lines = live.follow(
        state.sessions,
        deployment.id,
        providers_of(request).get(deployment.provider),
        tail=tail,
        poll_seconds=LOG_POLL_SECONDS,
    )
    return StreamingResponse(
        lines,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get(
    ONE + "/metrics/series",
    summary="Requests, latency and tokens/s per hour over 24 h; uptime and GPU utilisation",
)
async def deployment_metrics_series(
    ctx: ComputeRead, deployment_id: str, db: DbSession, state: State, request: Request
) -> DeploymentSeries:
    deployment = await service.get_deployment(db, ctx, deployment_id)
    return await live.series(db, deployment, providers_of(request), state.clock)
