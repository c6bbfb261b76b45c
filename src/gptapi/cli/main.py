"""The `gptapi` command."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Annotated, Any

import typer
import uvicorn
import uvloop
from uvicorn.config import LOGGING_CONFIG

from gptapi.cli import output
from gptapi.cli.admin import admin
from gptapi.cli.admin_compute import catalog, gpus
from gptapi.config import Settings, get_settings
from gptapi.gateway.upstream.fleet import (
    FleetConfigError,
    load_fleet_config,
    remove_source,
    replace_source,
)
from gptapi.kit.db import create_engine, session_maker
from gptapi.kit.logs import configure_logging

if TYPE_CHECKING:
    from gptapi.inference.launcher import LocalFleet

# Alembic, the embedded launcher (aiohttp) and first-run setup are imported where they are
# used: `gptapi gateway` never needs them, and every module is resident memory per replica.

app = typer.Typer(help="GPT API: an OpenAI-compatible inference platform.", no_args_is_help=True)
app.add_typer(admin, name="admin")
admin.add_typer(catalog, name="catalog")
admin.add_typer(gpus, name="gpus")

HostOption = Annotated[str | None, typer.Option(help="Interface to listen on.")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on.")]


def _settings(host: str | None, port: int | None) -> Settings:
    settings = get_settings()
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    return settings.model_copy(update=updates) if updates else settings


def _configure_logging(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)


@app.command()
def migrate(
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Change nothing; exit 1 if migrations are pending (or the database is at a "
            "revision this release does not know).",
        ),
    ] = False,
) -> None:
    """Upgrade the database schema to the newest version."""
    from gptapi.kit.migrate import UnknownRevision, pending, upgrade

    settings = get_settings()
    where = settings.resolved_database_url.split("@")[-1]
    if check:
        try:
            missing = asyncio.run(pending(settings.resolved_database_url))
        except UnknownRevision as exc:
            output.step(f"{where} is at revision {exc}, which this release does not have")
            raise typer.Exit(1) from None
        if missing:
            output.step(f"{len(missing)} migration(s) pending on {where}: {', '.join(missing)}")
            raise typer.Exit(1)
        output.step("schema is up to date")
        return
    output.step(f"migrating {where}")
    upgrade(settings.resolved_database_url)
    output.step("schema is up to date")


@app.command()
def serve(host: HostOption = None, port: PortOption = None) -> None:
    """Run the whole platform in one process; with no configuration, SQLite and local
    llama.cpp servers."""
    settings = _settings(host, port)
    _configure_logging(settings)
    _run(_serve(settings, embedded=True))


@app.command()
def gateway(
    host: HostOption = None,
    port: PortOption = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Gateway processes sharing the port (more than one needs REDIS_URL); "
            "background workers run in the first alone.",
        ),
    ] = 1,
    listen_fd: Annotated[int | None, typer.Option(hidden=True)] = None,
    process_index: Annotated[int, typer.Option(hidden=True)] = 0,
) -> None:
    """Run a gateway replica against an already migrated database and a configured fleet."""
    settings = _settings(host, port)
    _configure_logging(settings)
    if workers > 1:
        raise typer.Exit(_gateway_processes(settings, workers, host, port))
    if process_index > 0:
        settings = settings.model_copy(update={"run_workers": False})
    _run(_serve(settings, embedded=False, listen_fd=listen_fd))


def _gateway_processes(settings: Settings, count: int, host: str | None, port: int | None) -> int:
    from gptapi.cli.processes import Processes, listen

    if not settings.redis_url:
        output.step(
            f"cannot start {count} gateway processes without REDIS_URL: each would keep its own "
            "rate limits, credit holds and spend caps, so together they would admit more "
            "than a balance or a limit allows. Set REDIS_URL, or run one process."
        )
        return 2
    _run(_prepare_fleet(settings))
    try:
        sock = listen(settings.host, settings.port)
    except OSError as exc:
        output.step(f"cannot listen on {settings.host}:{settings.port}: {exc}")
        return 2
    where = "process 0" if settings.run_workers else "no process (RUN_WORKERS is off)"
    output.step(
        f"{count} gateway processes on {settings.base_url}, background workers in {where} "
        "(Ctrl-C stops everything)"
    )
    passed = [*(["--host", host] if host else []), *(["--port", str(port)] if port else [])]
    return Processes(count, sock, passed).run()


async def _prepare_fleet(settings: Settings) -> None:
    from gptapi.console.state import resolve_secret_key

    await _prepare(settings, None, embedded=False)
    # Generated here, if it must be, so every process signs with the same one.
    resolve_secret_key(settings)


@app.command()
def worker() -> None:
    """Run only the background workers (webhook delivery, status checks, billing) against an
    already migrated database; several may run side by side."""
    settings = get_settings()
    _configure_logging(settings)
    _run(_work(settings))


async def _work(settings: Settings) -> None:
    from gptapi.app import build_runtime
    from gptapi.kit.clock import SystemClock

    runtime = await build_runtime(settings, clock=SystemClock(), mailer=None)
    # The status monitor reads upstream health, so this process checks the fleet too.
    await runtime.sync_servers()
    runtime.install_announcer()  # deployments it starts or stops reach every gateway at once
    output.step("running background workers (Ctrl-C stops them)")
    try:
        await asyncio.gather(*runtime.upstream_loops(), *runtime.worker_loops())
    finally:
        await runtime.serving.client.close()
        await runtime.engine.dispose()


def _run(main: Coroutine[Any, Any, None]) -> None:
    # uvicorn's loop="uvloop" only applies when uvicorn makes the loop itself; we make it.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


async def _serve(settings: Settings, *, embedded: bool, listen_fd: int | None = None) -> None:
    """`listen_fd`: a socket bound by `gptapi gateway --workers`, which has prepared the
    fleet for every process already."""
    from gptapi.app import create_app
    from gptapi.probes import GracefulServer
    from gptapi.tracing import TracingUnavailable, instrument

    url = settings.resolved_database_url
    wants_local = settings.local_inference == "on" or (
        settings.local_inference == "auto" and settings.fleet_config is None and embedded
    )
    if wants_local:
        from gptapi.inference.model_file import local_inference_missing

        if missing := local_inference_missing():
            output.step(f"cannot start: {missing}")
            raise typer.Exit(2)
    if embedded:
        from gptapi.kit.migrate import upgrade

        output.step("migrating the database")
        await asyncio.to_thread(upgrade, url)
    fleet: LocalFleet | None = None
    supervisor: asyncio.Task[None] | None = None
    try:
        if wants_local:
            from gptapi.inference.launcher import LocalFleet

            fleet = LocalFleet(
                settings.data_dir / "logs",
                parallel=settings.local_parallel,
                ctx_per_slot=settings.local_ctx_per_slot,
                threads=settings.local_threads,
            )
            output.step(
                "starting local llama.cpp servers (SmolLM2-135M-Instruct)"
                + "".join(f", {kind}" for kind in fleet.audio_models)
            )
            fleet.start()
            await fleet.wait_ready(progress=output.step)
            supervisor = asyncio.create_task(
                fleet.supervise(
                    first_delay=settings.local_restart_delay_seconds,
                    max_delay=settings.local_restart_max_delay_seconds,
                )
            )
        message = None
        if listen_fd is None:
            message = await _prepare(settings, fleet, embedded=embedded)
        application = create_app(settings)
        try:
            served, flush_traces = instrument(application, settings)
        except TracingUnavailable as exc:
            output.step(f"cannot start: {exc}")
            raise typer.Exit(2) from None
        server = GracefulServer(
            uvicorn.Config(
                served,
                host=settings.host,
                port=settings.port,
                loop="uvloop",
                http="httptools",
                access_log=False,
                log_level=settings.log_level,
                # JSON logs: uvicorn's loggers go through ours instead of its own format.
                log_config=None if settings.log_format == "json" else LOGGING_CONFIG,
                timeout_graceful_shutdown=settings.shutdown_grace_seconds,
            ),
            application.state.readiness,
            unready_seconds=settings.shutdown_unready_seconds,
            after_shutdown=flush_traces,
        )
        if message:
            print(message, flush=True)
        if listen_fd is None:
            output.step(f"serving on {settings.base_url}  (Ctrl-C stops everything)")
            await server.serve()
        else:
            await server.serve(sockets=[socket.socket(fileno=listen_fd)])
    finally:
        if supervisor is not None:
            supervisor.cancel()  # before stopping: a stopped child must stay stopped
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        if fleet is not None:
            output.step("stopping local llama.cpp servers")
            fleet.stop()


async def _prepare(settings: Settings, fleet: LocalFleet | None, *, embedded: bool) -> str | None:
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_maker(engine)() as session, session.begin():
            if fleet is not None:
                await replace_source(session, "local", fleet.specs())
                from gptapi.cli.bootstrap import local_audio_models

                await local_audio_models(session, fleet.audio_models)
            else:
                await remove_source(session, "local")
            if settings.fleet_config is not None:
                try:
                    specs = load_fleet_config(settings.fleet_config)
                except FleetConfigError as exc:
                    raise typer.BadParameter(str(exc), param_hint="FLEET_CONFIG") from None
                await replace_source(session, "config", specs)
            else:
                await remove_source(session, "config")
            if not embedded:
                return None
            from gptapi.cli.bootstrap import first_run

            return await first_run(session, settings)
    finally:
        await engine.dispose()
