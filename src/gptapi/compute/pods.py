"""The compute worker's side of custom pods: drives each pod toward the state its owner
asked for, through a container provider, and keeps its billed runs.

    pending ─create, or resume on the kept volume→ starting ─RUNNING→ running
    running ─stop→ stopping → stopped (the volume kept) ─start→ pending → …
    any ─terminate→ terminating → terminated (the pod and its volume gone)
    starting ─exited, or not running within the start timeout→ failed
    running ─exited or vanished→ failed (its GPUs billed up to when it was last seen running)

A pod is billed in two kinds of runs (`pod_runs`): `gpu`, from RUNNING to its stop, one per
start, at the GPUs' price; and `storage`, from the first time it runs until it is
terminated, at the volume's price, stopped or not. A pod that never ran is charged nothing
and leaves nothing behind: its instance is terminated. One that fails after it has run keeps
its volume (and its storage run) until its owner terminates it.

After a restart of the platform the worker finds its pods again by their provider ids: a
pod that kept running is re-adopted, its runs billed on from where the books stopped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.audit import record
from gptapi.compute.billing import close_run
from gptapi.compute.pod_totals import PodTotals, pod_run_totals
from gptapi.compute.provider import (
    ComputeProvider,
    Connection,
    ContainerProvider,
    InstanceState,
    ProviderError,
    UnsupportedWorkload,
    Workload,
)
from gptapi.compute.transitions import move, stop_unfunded
from gptapi.kit.clock import Clock
from gptapi.kit.db import SessionMaker
from gptapi.models import Pod, PodRun

log = logging.getLogger(__name__)

ACTIVE_STATES = ("pending", "starting", "running")
WORKING_STATES = (*ACTIVE_STATES, "stopping", "terminating")


def workload_for(pod: Pod) -> Workload:
    return Workload(
        name=pod.name,
        image=pod.image,
        env=dict(pod.env),
        gpu_type=pod.gpu_type,
        gpu_count=pod.gpu_count,
        ports=tuple(pod.ports),
        cloud=pod.cloud_type,
        volume_gb=pod.storage_gb,
    )


def connection_data(connection: Connection) -> dict[str, Any]:
    return {
        "ssh": connection.ssh,
        "jupyter": connection.jupyter,
        "endpoints": [
            {
                "port": e.port,
                "protocol": e.protocol,
                "url": e.url,
                "ip": e.ip,
                "public_port": e.public_port,
            }
            for e in connection.endpoints
        ],
    }


class PodSupervisor:
    def __init__(
        self,
        sessions: SessionMaker,
        providers: dict[str, ComputeProvider],
        clock: Clock,
        *,
        start_timeout: float,
    ) -> None:
        self.sessions = sessions
        self.providers = providers
        self.clock = clock
        self.start_timeout = timedelta(seconds=start_timeout)

    async def tick(self) -> None:
        async with self.sessions() as session:
            ids = (
                await session.scalars(
                    select(Pod.id).where(Pod.state.in_(WORKING_STATES)).order_by(Pod.created_at)
                )
            ).all()
        for pod_id in ids:
            try:
                await self.advance(pod_id)
            except Exception:
                log.exception("could not advance pod %s; retrying", pod_id)
        await self.keep_volumes()

    async def keep_volumes(self) -> None:
        """A volume exists until its pod is terminated, whether anything watched it or not:
        its storage run is seen up to now."""
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(PodRun)
                .where(PodRun.kind == "storage", PodRun.ended_at.is_(None))
                .values(last_seen_at=self.clock.now())
            )

    async def advance(self, pod_id: str) -> None:
        async with self.sessions() as session:
            pod = await session.get(Pod, pod_id)
        if pod is None:
            return
        provider = self.providers.get(pod.provider)
        if not isinstance(provider, ContainerProvider):
            await self._abandon(pod)
            return
        if pod.state == "pending":
            await self._start(pod, provider)
        elif pod.state == "starting":
            await self._check_starting(pod, provider)
        elif pod.state == "running":
            await self._check_running(pod, provider)
        elif pod.state == "stopping":
            await self._stop(pod, provider)
        elif pod.state == "terminating":
            await self._terminate(pod, provider)

    async def _start(self, pod: Pod, provider: ContainerProvider) -> None:
        resumed = pod.instance_id
        try:
            if resumed is not None:
                await provider.resume(resumed)
                instance_id = resumed
            else:
                instance_id = await provider.start(workload_for(pod))
        except ProviderError as exc:
            if exc.retryable:  # stays pending: the next tick tries again
                log.warning("starting pod %s: %s; retrying", pod.id, exc)
                return
            await self._set(pod, "pending", "failed", reason=str(exc))
            return
        except UnsupportedWorkload as exc:
            await self._set(pod, "pending", "failed", reason=str(exc))
            return
        moved = await self._set(
            pod,
            "pending",
            "starting",
            instance_id=instance_id,
            start_requested_at=self.clock.now(),
        )
        if not moved and resumed is None:
            # Stopped or terminated while it was being created: end what was just made.
            await provider.terminate(instance_id)

    async def _check_starting(self, pod: Pod, provider: ContainerProvider) -> None:
        assert pod.instance_id is not None
        status = await provider.inspect(pod.instance_id)
        now = self.clock.now()
        if status.state is InstanceState.RUNNING:
            async with self.sessions() as session, session.begin():
                if not await move(
                    session,
                    pod,
                    "starting",
                    "running",
                    now=now,
                    connection=connection_data(status.connection),
                    ready_at=pod.ready_at or now,
                ):
                    return
                await self._open_runs(session, pod, now)
            return
        started = pod.start_requested_at or now
        if status.state is InstanceState.STARTING and now - started <= self.start_timeout:
            return
        reason = status.reason or (
            f"not running after {int(self.start_timeout.total_seconds())} s"
            if status.state is InstanceState.STARTING
            else f"instance {status.state.value}"
        )
        # Nothing was charged for this start: its GPUs are billed from RUNNING on.
        if self._keeps_volume(pod) and status.state is not InstanceState.MISSING:
            await provider.stop(pod.instance_id)
            await self._set(pod, "starting", "failed", reason=reason)
            return
        await provider.terminate(pod.instance_id)
        async with self.sessions() as session, session.begin():
            if await move(
                session, pod, "starting", "failed", now=now, reason=reason, instance_id=None
            ):
                await self._close_runs(session, pod.id, None, kinds=("gpu", "storage"))

    @staticmethod
    def _keeps_volume(pod: Pod) -> bool:
        """Has it run with a volume? Then that volume holds its owner's data: kept."""
        return pod.ready_at is not None and pod.storage_gb > 0

    async def _open_runs(self, session: AsyncSession, pod: Pod, now: datetime) -> None:
        runs = (
            await session.scalars(
                select(PodRun.kind).where(PodRun.pod_id == pod.id, PodRun.ended_at.is_(None))
            )
        ).all()
        wanted = {"gpu": pod.gpu_nanos_per_hour, "storage": pod.storage_nanos_per_hour}
        for kind, price in wanted.items():
            if kind in runs or price == 0:
                continue
            session.add(
                PodRun(
                    pod_id=pod.id,
                    kind=kind,
                    organization_id=pod.organization_id,
                    price_nanos_per_hour=price,
                    started_at=now,
                    last_seen_at=now,
                )
            )

    async def _check_running(self, pod: Pod, provider: ContainerProvider) -> None:
        assert pod.instance_id is not None
        status = await provider.inspect(pod.instance_id)
        now = self.clock.now()
        if status.state is InstanceState.RUNNING:
            async with self.sessions() as session, session.begin():
                await session.execute(
                    update(PodRun)
                    .where(PodRun.pod_id == pod.id, PodRun.ended_at.is_(None))
                    .values(last_seen_at=now)
                )
                connection = connection_data(status.connection)
                if connection != pod.connection:
                    await session.execute(
                        update(Pod).where(Pod.id == pod.id).values(connection=connection)
                    )
            return
        if status.state is InstanceState.STARTING:
            return  # restarting in place: its runs are billed up to when it was last seen
        # Died on its own, or gone at the provider: its GPUs are billed up to when it was
        # last seen running; a pod that is gone took its volume with it.
        gone = status.state is InstanceState.MISSING
        async with self.sessions() as session, session.begin():
            extra: dict[str, Any] = {"instance_id": None} if gone else {}
            if not await move(
                session,
                pod,
                "running",
                "failed",
                now=now,
                reason=status.reason or f"instance {status.state.value}",
                connection=None,
                **extra,
            ):
                return
            await self._close_runs(
                session, pod.id, None, kinds=("gpu", "storage") if gone else ("gpu",)
            )

    async def _stop(self, pod: Pod, provider: ContainerProvider) -> None:
        if pod.instance_id is not None:
            if self._keeps_volume(pod):
                await provider.stop(pod.instance_id)
            else:
                # Never ran, or has no volume: nothing worth keeping, nothing left to bill.
                await provider.terminate(pod.instance_id)
        now = self.clock.now()
        instance = {} if self._keeps_volume(pod) else {"instance_id": None}
        async with self.sessions() as session, session.begin():
            if await move(
                session,
                pod,
                "stopping",
                "stopped",
                now=now,
                reason=pod.state_reason,
                connection=None,
                **instance,
            ):
                await self._close_runs(session, pod.id, now, kinds=("gpu",))

    async def _terminate(self, pod: Pod, provider: ContainerProvider) -> None:
        if pod.instance_id is not None:
            await provider.terminate(pod.instance_id)
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            if await move(
                session,
                pod,
                "terminating",
                "terminated",
                now=now,
                instance_id=None,
                connection=None,
                terminated_at=now,
            ):
                await self._close_runs(session, pod.id, now, kinds=("gpu", "storage"))
                await _record_termination(session, pod)

    async def _abandon(self, pod: Pod) -> None:
        """Its provider is no longer configured here: nothing can be run, stopped or
        terminated for it any more, so nothing is charged for it any more either."""
        async with self.sessions() as session, session.begin():
            if await move(
                session,
                pod,
                pod.state,
                "failed",
                now=self.clock.now(),
                reason=f"provider {pod.provider} not configured",
                connection=None,
            ):
                # Its GPUs to when they were last seen running, its volume to now.
                await self._close_runs(session, pod.id, None, kinds=("gpu",))
                await self._close_runs(session, pod.id, self.clock.now(), kinds=("storage",))

    async def _close_runs(
        self,
        session: AsyncSession,
        pod_id: str,
        at: datetime | None,
        *,
        kinds: tuple[str, ...],
    ) -> None:
        """Close and settle its open runs of those kinds, at `at` or where last seen."""
        runs = (
            await session.scalars(
                select(PodRun).where(
                    PodRun.pod_id == pod_id, PodRun.ended_at.is_(None), PodRun.kind.in_(kinds)
                )
            )
        ).all()
        for run in runs:
            await close_run(session, run, at or run.last_seen_at)

    async def stop_unfunded(self) -> None:
        """Prepaid: running pods of organisations with no balance left are stopped; their
        volumes are kept (their storage is charged as far as the balance goes)."""
        await stop_unfunded(self.sessions, Pod, ACTIVE_STATES, self.clock)

    async def _set(self, pod: Pod, from_state: str, to_state: str, **values: Any) -> bool:
        async with self.sessions() as session, session.begin():
            return await move(session, pod, from_state, to_state, now=self.clock.now(), **values)


async def _record_termination(session: AsyncSession, pod: Pod) -> None:
    """The audit entry of a pod's end, with what it ran and cost in all, settled: members
    read it in their recent activity after the pod has left the pods list."""
    totals = (await pod_run_totals(session, [pod.id])).get(pod.id, PodTotals())
    record(
        session,
        action="pod.terminated",
        actor_user_id=None,
        organization_id=pod.organization_id,
        target_type="pod",
        target_id=pod.id,
        data={
            "name": pod.name,
            "gpu_type": pod.gpu_type,
            "gpu_count": pod.gpu_count,
            "runtime_seconds": totals.gpu_seconds,
            "cost_nanos": totals.gpu_nanos + totals.storage_nanos,
        },
    )
