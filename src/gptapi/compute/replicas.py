"""Replicas a deployment runs beside its own instance, added by scale-out.

Each is a row of `deployment_replicas` for as long as its instance lives: `starting` until
/health answers 200, then `ready`, in the deployment's pool and billed by a run of its own
(keyed by the run, so no replica's interval is lost or counted twice). Ending one takes it
out of the pool, ends the instance and closes its run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.compute.billing import close_run
from gptapi.compute.instances import (
    SERVER_SOURCE,
    catalog_workload,
    ready_instance,
    with_key,
)
from gptapi.compute.provider import (
    ComputeProvider,
    InstanceState,
    ProviderError,
    UnsupportedWorkload,
)
from gptapi.kit.clock import Clock
from gptapi.kit.db import SessionMaker
from gptapi.models import Deployment, DeploymentReplica, DeploymentRun, Server

log = logging.getLogger(__name__)


@dataclass
class Replicas:
    sessions: SessionMaker
    clock: Clock
    start_timeout: timedelta

    async def check(self, deployment: Deployment, provider: ComputeProvider, now: datetime) -> bool:
        """Bring the replicas scale-out added along: a starting one joins the pool (and
        starts its run) once /health answers 200; one that never does, or is lost, is
        ended. True when the pool changed."""
        changed = False
        for replica in await self.of(deployment.id):
            status = await provider.state(replica.instance_id)
            if replica.state == "starting":
                if status.state is InstanceState.RUNNING and status.url:
                    changed |= await self._ready(deployment, replica, status.url, now)
                elif (
                    status.state is not InstanceState.STARTING
                    or now - replica.requested_at > self.start_timeout
                ):
                    log.warning(
                        "replica %s of %s did not start: %s",
                        replica.instance_id,
                        deployment.id,
                        status.reason or status.state.value,
                    )
                    await self.end(deployment, replica, provider, None)
            elif status.state is InstanceState.RUNNING:
                async with self.sessions() as session, session.begin():
                    await session.execute(
                        update(DeploymentRun)
                        .where(
                            DeploymentRun.deployment_id == deployment.id,
                            DeploymentRun.instance_id == replica.instance_id,
                            DeploymentRun.ended_at.is_(None),
                        )
                        .values(last_seen_at=now)
                    )
            elif status.state is not InstanceState.STARTING:
                # Lost: billed up to when it was last seen healthy; scaling starts another
                # if the traffic still needs it.
                await self.end(deployment, replica, provider, None)
                changed = True
        return changed

    async def _ready(
        self, deployment: Deployment, replica: DeploymentReplica, url: str, now: datetime
    ) -> bool:
        async with self.sessions() as session, session.begin():
            moved = await session.execute(
                update(DeploymentReplica)
                .where(DeploymentReplica.id == replica.id, DeploymentReplica.state == "starting")
                .values(state="ready", url=url, ready_at=now)
            )
            if not moved.rowcount:  # type: ignore[attr-defined]
                return False
            session.add_all(ready_instance(deployment, replica.instance_id, url, now))
        return True

    async def add(self, deployment: Deployment, provider: ComputeProvider, now: datetime) -> None:
        try:
            workload = await catalog_workload(self.sessions, deployment)
            instance_id = await provider.start(with_key(workload, deployment.upstream_key))
        except (ProviderError, UnsupportedWorkload) as exc:
            # It keeps serving with what it has; the next look tries again.
            log.warning("could not add a replica to %s: %s", deployment.id, exc)
            return
        async with self.sessions() as session, session.begin():
            session.add(
                DeploymentReplica(
                    deployment_id=deployment.id, instance_id=instance_id, requested_at=now
                )
            )

    async def end(
        self,
        deployment: Deployment,
        replica: DeploymentReplica,
        provider: ComputeProvider,
        at: datetime | None,
    ) -> None:
        """Take a replica out of the pool, end its instance and close its run: at `at`, or
        (None) when it was last seen healthy."""
        async with self.sessions() as session, session.begin():
            if replica.url is not None:
                await session.execute(
                    delete(Server).where(
                        Server.source == SERVER_SOURCE,
                        Server.model_name == deployment.id,
                        Server.base_url == replica.url,
                    )
                )
            await session.execute(
                delete(DeploymentReplica).where(DeploymentReplica.id == replica.id)
            )
        await provider.terminate(replica.instance_id)
        async with self.sessions() as session, session.begin():
            runs = (
                await session.scalars(
                    select(DeploymentRun).where(
                        DeploymentRun.deployment_id == deployment.id,
                        DeploymentRun.instance_id == replica.instance_id,
                        DeploymentRun.ended_at.is_(None),
                    )
                )
            ).all()
            for run in runs:
                await close_run(session, run, at or run.last_seen_at)

    async def of(self, deployment_id: str) -> list[DeploymentReplica]:
        async with self.sessions() as session:
            return list(
                (
                    await session.scalars(
                        select(DeploymentReplica)
                        .where(DeploymentReplica.deployment_id == deployment_id)
                        .order_by(DeploymentReplica.id)
                    )
                ).all()
            )


async def drop_replicas(session: AsyncSession, deployment_id: str) -> list[str]:
    """Forget the deployment's added replicas; returns their instance ids, to end."""
    gone = await session.scalars(
        delete(DeploymentReplica)
        .where(DeploymentReplica.deployment_id == deployment_id)
        .returning(DeploymentReplica.instance_id)
    )
    return list(gone.all())
