"""What an instance of a deployment runs, and how it joins the gateway: every instance
(the deployment's own and each replica) runs its catalog entry's workload and is a server
of the pool named after the deployment id."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from gptapi.compute import price_list
from gptapi.compute.catalog import CatalogEntry
from gptapi.compute.provider import UnsupportedWorkload, Workload
from gptapi.kit.db import SessionMaker
from gptapi.models import Deployment, DeploymentRun, Server

SERVER_SOURCE = "deployment"


def workload_for(deployment: Deployment, entry: CatalogEntry | None) -> Workload:
    if entry is None:
        raise UnsupportedWorkload(f"catalog entry {deployment.catalog_slug!r} no longer exists")
    return Workload(
        name=deployment.name,
        model=entry.model,
        image=entry.image,
        args=entry.args,
        gpu_type=entry.gpu_type,
        gpu_count=entry.gpu_count,
    )


async def catalog_workload(sessions: SessionMaker, deployment: Deployment) -> Workload:
    """Its workload as the catalog has its entry now."""
    async with sessions() as session:
        entry = await price_list.entry(session, deployment.catalog_slug)
    return workload_for(deployment, entry)


def with_key(workload: Workload, upstream_key: str | None) -> Workload:
    """The workload, its server started with `--api-key` when it has a key (a container
    behind a public proxy: only the gateway may call it)."""
    if upstream_key is None:
        return workload
    return replace(workload, args=(*workload.args, "--api-key", upstream_key))


def server_for(deployment: Deployment, url: str) -> Server:
    """An instance of the deployment in its pool."""
    return Server(
        model_name=deployment.id,
        base_url=url,
        api_key=deployment.upstream_key,
        source=SERVER_SOURCE,
    )


def ready_instance(
    deployment: Deployment, instance_id: str | None, url: str, now: datetime
) -> tuple[DeploymentRun, Server]:
    """What an instance that became ready adds: its billed run, from now, and its server in
    the deployment's pool."""
    run = DeploymentRun(
        deployment_id=deployment.id,
        organization_id=deployment.organization_id,
        price_nanos_per_hour=deployment.price_nanos_per_hour,
        started_at=now,
        last_seen_at=now,
        instance_id=instance_id,
    )
    return run, server_for(deployment, url)
