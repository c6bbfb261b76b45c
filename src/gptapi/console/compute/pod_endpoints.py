"""/api/orgs/{org_id}/pods: custom pods, your container on GPUs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from gptapi.console.compute import pods, service
from gptapi.console.compute.endpoints import ComputeRead, ComputeWrite, providers_of
from gptapi.console.compute.schemas import InstanceLogs, PodCreate, PodOut
from gptapi.console.deps import DbSession, State

router = APIRouter(tags=["compute"])
PODS = "/orgs/{org_id}/pods"
ONE = PODS + "/{pod_id}"


@router.get(PODS, summary="The organization's custom pods")
async def list_pods(ctx: ComputeRead, db: DbSession) -> list[PodOut]:
    return await pods.list_pods(db, ctx)


@router.post(
    PODS,
    status_code=201,
    summary="Create a custom pod; billed per second (409 without a container provider)",
)
async def create_pod(
    ctx: ComputeWrite, body: PodCreate, db: DbSession, state: State, request: Request
) -> PodOut:
    pod = await pods.create(db, ctx, body, state.prices.current, providers_of(request), state.clock)
    return await pods.describe(db, pod)


@router.get(ONE, summary="One pod: state, price, connection details and cost so far")
async def get_pod(ctx: ComputeRead, pod_id: str, db: DbSession) -> PodOut:
    return await pods.describe(db, await pods.get_pod(db, ctx, pod_id))


@router.post(ONE + "/stop", status_code=202, summary="Stop it; its volume is kept (and billed)")
async def stop_pod(ctx: ComputeWrite, pod_id: str, db: DbSession, state: State) -> PodOut:
    pod = await pods.get_pod(db, ctx, pod_id)
    await pods.stop(db, ctx, pod, state.clock)
    return await pods.describe(db, pod)


@router.post(ONE + "/start", status_code=202, summary="Start a stopped or failed pod again")
async def start_pod(ctx: ComputeWrite, pod_id: str, db: DbSession, state: State) -> PodOut:
    pod = await pods.get_pod(db, ctx, pod_id)
    await pods.start(db, ctx, pod, state.clock)
    return await pods.describe(db, pod)


@router.delete(ONE, status_code=202, summary="Terminate it: the pod and its volume are gone")
async def terminate_pod(ctx: ComputeWrite, pod_id: str, db: DbSession, state: State) -> PodOut:
    pod = await pods.get_pod(db, ctx, pod_id)
    await pods.terminate(db, ctx, pod, state.clock)
    return await pods.describe(db, pod)


@router.get(ONE + "/logs", summary="The tail of its container's log, while RunPod keeps the pod")
async def pod_logs(
    ctx: ComputeRead,
    pod_id: str,
    db: DbSession,
    request: Request,
    tail: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> InstanceLogs:
    pod = await pods.get_pod(db, ctx, pod_id)
    return await service.logs(pod, providers_of(request), tail)
