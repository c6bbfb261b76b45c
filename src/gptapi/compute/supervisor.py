"""The compute worker: drives each deployment toward the state its owner asked for, through
its provider, and meters running time (custom pods' side is `gptapi.compute.pods`).

    pending ─start→ starting ─/health 200→ ready ─stop→ stopping → stopped
                       └──── exited / timeout ───→ failed (with the reason)

The API only records what is wanted (pending, stopping, deleting); every provider call
happens here, so one process owns the instances. Each transition is a compare-and-set on
the state the worker read: a stop that lands while a start is under way wins, and the
instance the start created is ended instead of leaking.

A ready deployment joins the gateway as a private model of its organisation: its server
row (`source = "deployment"`) puts it in a pool named after the deployment id.

While ready, a deployment runs between `min_replicas` and `max_replicas` replicas: its own
instance (`instance_id`) and the replicas scale-out added (see `replicas`), each in its
pool once it answers /health and billed by a run of its own. Serverless deployments
with `min_replicas` 0 also go

    ready ─idle for the idle timeout→ idle (nothing runs, nothing is charged)
    idle ─a request on /v1 (`wake`)→ pending → … → ready
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.compute.billing import close_run, meter_open_runs
from gptapi.compute.instances import (
    SERVER_SOURCE,
    catalog_workload,
    ready_instance,
    with_key,
)
from gptapi.compute.pods import PodSupervisor
from gptapi.compute.provider import (
    ComputeProvider,
    InstanceState,
    ProviderError,
    UnsupportedWorkload,
)
from gptapi.compute.replicas import Replicas, drop_replicas
from gptapi.compute.scaling import desired_replicas, idle_for, saturated_for
from gptapi.compute.transitions import move, stop_unfunded
from gptapi.kit.clock import Clock
from gptapi.kit.db import SessionMaker
from gptapi.models import Deployment, DeploymentRun, Server

log = logging.getLogger(__name__)

ACTIVE_STATES = ("pending", "starting", "ready")


class Supervisor:
    def __init__(
        self,
        sessions: SessionMaker,
        providers: dict[str, ComputeProvider],
        clock: Clock,
        *,
        start_timeout: float,
        scale_out_after: float = 10.0,
        on_change: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.sessions = sessions
        self.providers = providers
        self.clock = clock
        self.start_timeout = timedelta(seconds=start_timeout)
        self.scale_out_after = timedelta(seconds=scale_out_after)
        self.on_change = on_change
        self.pods = PodSupervisor(sessions, providers, clock, start_timeout=start_timeout)
        self.replicas = Replicas(sessions, clock, self.start_timeout)

    async def tick(self) -> None:
        changed = False
        async with self.sessions() as session:
            ids = (
                await session.scalars(
                    select(Deployment.id)
                    .where(Deployment.state.in_((*ACTIVE_STATES, "stopping", "deleting")))
                    .order_by(Deployment.created_at)
                )
            ).all()
        for deployment_id in ids:
            try:
                changed |= await self.advance(deployment_id)
            except Exception:
                log.exception("could not advance deployment %s; retrying", deployment_id)
        await self.pods.tick()
        await meter_open_runs(self.sessions)
        changed |= await self.stop_unfunded()
        await self.pods.stop_unfunded()
        if changed and self.on_change is not None:
            await self.on_change()

    async def advance(self, deployment_id: str) -> bool:
        """One step for one deployment; True when the gateway's view changed."""
        async with self.sessions() as session:
            deployment = await session.get(Deployment, deployment_id)
        if deployment is None:
            return False
        provider = self.providers.get(deployment.provider)
        state = deployment.state
        if provider is None:
            await self._set(deployment, state, "failed", reason="provider not configured")
            return False
        if state == "pending":
            await self._start(deployment, provider)
            return False
        if state == "starting":
            return await self._check_starting(deployment, provider)
        if state == "ready":
            return await self._check_ready(deployment, provider)
        if state in ("stopping", "deleting"):
            await self._end(deployment, provider, "stopped" if state == "stopping" else "deleted")
            return True
        return False

    async def _start(self, deployment: Deployment, provider: ComputeProvider) -> None:
        upstream_key = None
        try:
            workload = await catalog_workload(self.sessions, deployment)
            if workload.image:
                # A container behind a public proxy: only the gateway may call it.
                upstream_key = secrets.token_urlsafe(24)
            instance_id = await provider.start(with_key(workload, upstream_key))
        except ProviderError as exc:
            if exc.retryable:  # stays pending: the next tick tries again
                log.warning("starting %s: %s; retrying", deployment.id, exc)
                return
            await self._set(deployment, "pending", "failed", reason=str(exc))
            return
        except UnsupportedWorkload as exc:
            await self._set(deployment, "pending", "failed", reason=str(exc))
            return
        if not await self._set(
            deployment,
            "pending",
            "starting",
            instance_id=instance_id,
            upstream_key=upstream_key,
            start_requested_at=self.clock.now(),
        ):
            # Stopped or deleted while starting: end what was just created.
            await provider.terminate(instance_id)

    async def _check_starting(self, deployment: Deployment, provider: ComputeProvider) -> bool:
        assert deployment.instance_id is not None
        status = await provider.state(deployment.instance_id)
        now = self.clock.now()
        if status.state is InstanceState.RUNNING and status.url:
            async with self.sessions() as session, session.begin():
                if not await move(
                    session, deployment, "starting", "ready", now=now, url=status.url
                ):
                    return False
                await session.execute(
                    update(Deployment).where(Deployment.id == deployment.id).values(ready_at=now)
                )
                session.add_all(ready_instance(deployment, deployment.instance_id, status.url, now))
            return True
        started = deployment.start_requested_at or now
        if status.state is InstanceState.STARTING and now - started <= self.start_timeout:
            return False
        reason = status.reason or (
            f"not ready after {int(self.start_timeout.total_seconds())} s"
            if status.state is InstanceState.STARTING
            else f"instance {status.state.value}"
        )
        await provider.terminate(deployment.instance_id)
        # Nothing was charged: billing starts when the instance first answers /health.
        await self._set(deployment, "starting", "failed", reason=reason, instance_id=None)
        return False

    async def _check_ready(self, deployment: Deployment, provider: ComputeProvider) -> bool:
        assert deployment.instance_id is not None
        status = await provider.state(deployment.instance_id)
        now = self.clock.now()
        if status.state is InstanceState.RUNNING:
            async with self.sessions() as session, session.begin():
                await session.execute(
                    update(DeploymentRun)
                    .where(
                        DeploymentRun.deployment_id == deployment.id,
                        DeploymentRun.ended_at.is_(None),
                        # Runs from before replicas were recorded are the instance's own.
                        or_(
                            DeploymentRun.instance_id == deployment.instance_id,
                            DeploymentRun.instance_id.is_(None),
                        ),
                    )
                    .values(last_seen_at=now)
                )
            changed = await self.replicas.check(deployment, provider, now)
            return await self._scale(deployment, provider, now) or changed
        if status.state is InstanceState.STARTING:
            return False  # a passing hiccup of /health: the gateway's own checks cover it
        # Lost: billed up to when it was last seen healthy. One that vanished with a restart
        # of this platform is started again; one that died on its own has failed.
        lost = status.state is InstanceState.MISSING
        async with self.sessions() as session, session.begin():
            target = "pending" if lost else "failed"
            reason = (
                "instance lost in a restart; starting it again"
                if lost
                else status.reason or "instance exited"
            )
            if not await move(
                session,
                deployment,
                "ready",
                target,
                now=now,
                reason=reason,
                instance_id=None,
                url=None,
            ):
                return False
            await self._close_runs(session, deployment.id, None)
            await _remove_server(session, deployment.id)
            replicas = await drop_replicas(session, deployment.id)
        for instance_id in (deployment.instance_id, *replicas):
            await provider.terminate(instance_id)
        return True

    async def _scale(
        self, deployment: Deployment, provider: ComputeProvider, now: datetime
    ) -> bool:
        """Scale a ready deployment by its policy; True when the pool changed."""
        replicas = await self.replicas.of(deployment.id)
        starting = any(r.state == "starting" for r in replicas)
        # Sustained: saturated for a while, and for a while since the last replica joined
        # (a replica just added needs a moment to take its share).
        settled_since = max(
            (r.ready_at for r in replicas if r.ready_at is not None),
            default=deployment.ready_at or now,
        )
        saturated = (
            not starting
            and saturated_for(deployment, now) >= self.scale_out_after
            and now - settled_since >= self.scale_out_after
        )
        current = 1 + len(replicas)
        wanted = desired_replicas(
            current=current,
            min_replicas=deployment.min_replicas,
            max_replicas=deployment.max_replicas,
            saturated=saturated,
            idle_for=idle_for(deployment, now),
            idle_timeout=timedelta(seconds=deployment.idle_timeout_seconds),
        )
        if wanted > current:
            await self.replicas.add(deployment, provider, now)
            return False
        if wanted == current:
            return False
        if replicas:
            # The newest goes first: the deployment's own instance is the last to go.
            await self.replicas.end(deployment, replicas[-1], provider, now)
            return True
        await self._end(
            deployment,
            provider,
            "idle",
            reason=f"Scaled to zero after {deployment.idle_timeout_seconds} s without requests.",
        )
        return True

    async def _end(
        self,
        deployment: Deployment,
        provider: ComputeProvider,
        target: str,
        *,
        reason: str | None = None,
    ) -> None:
        # Catalog deployments keep no storage of their own: stopping ends the instances,
        # and starting again makes new ones.
        replicas = [r.instance_id for r in await self.replicas.of(deployment.id)]
        for instance_id in (deployment.instance_id, *replicas):
            if instance_id is not None:
                await provider.terminate(instance_id)
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            extra: dict[str, Any] = {"deleted_at": now} if target == "deleted" else {}
            if await move(
                session,
                deployment,
                deployment.state,
                target,
                now=now,
                instance_id=None,
                url=None,
                reason=deployment.state_reason if reason is None else reason,
                **extra,
            ):
                await self._close_runs(session, deployment.id, now)
                await _remove_server(session, deployment.id)
                await drop_replicas(session, deployment.id)

    async def _close_runs(
        self, session: AsyncSession, deployment_id: str, at: datetime | None
    ) -> None:
        runs = (
            await session.scalars(
                select(DeploymentRun).where(
                    DeploymentRun.deployment_id == deployment_id, DeploymentRun.ended_at.is_(None)
                )
            )
        ).all()
        for run in runs:
            await close_run(session, run, at or run.last_seen_at)

    async def stop_unfunded(self) -> bool:
        """Prepaid: deployments of organisations with no balance left are stopped."""
        return await stop_unfunded(self.sessions, Deployment, ACTIVE_STATES, self.clock)

    async def _set(
        self, deployment: Deployment, from_state: str, to_state: str, **values: Any
    ) -> bool:
        async with self.sessions() as session, session.begin():
            return await move(
                session, deployment, from_state, to_state, now=self.clock.now(), **values
            )

    async def close(self) -> None:
        for provider in self.providers.values():
            close = getattr(provider, "close", None)
            if close is not None:
                await close()


async def wake(session: AsyncSession, deployment_id: str, now: datetime) -> str | None:
    """A request arrived for a deployment scaled to zero: start it (idle → pending) in the
    caller's transaction. Returns its state after that (None when it is gone): `pending`
    when this call or another one woke it, anything else when it is no longer at zero."""
    deployment = await session.get(Deployment, deployment_id)
    if deployment is None:
        return None
    if deployment.state == "idle":
        await move(session, deployment, "idle", "pending", now=now, reason="Woken by a request.")
        return "pending"
    return deployment.state


async def _remove_server(session: AsyncSession, deployment_id: str) -> None:
    await session.execute(
        delete(Server).where(Server.source == SERVER_SOURCE, Server.model_name == deployment_id)
    )
