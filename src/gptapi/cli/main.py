"""The `gptapi` command."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Annotated, Any

import typer
import uvicorn
import uvloop

from gptapi.cli import output
from gptapi.cli.admin import admin
from gptapi.cli.bootstrap import first_run
from gptapi.config import Settings, get_settings
from gptapi.gateway.upstream.fleet import (
    FleetConfigError,
    load_fleet_config,
    remove_source,
    replace_source,
)
from gptapi.inference.launcher import LocalFleet
from gptapi.kit.db import create_engine, session_maker
from gptapi.kit.migrate import upgrade

app = typer.Typer(help="GPT API: an OpenAI-compatible inference platform.", no_args_is_help=True)
app.add_typer(admin, name="admin")

HostOption = Annotated[str | None, typer.Option(help="Interface to listen on.")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on.")]


def _settings(host: str | None, port: int | None) -> Settings:
    settings = get_settings()
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    return settings.model_copy(update=updates) if updates else settings


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the newest version."""
    settings = get_settings()
    output.step(f"migrating {settings.resolved_database_url.split('@')[-1]}")
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
def gateway(host: HostOption = None, port: PortOption = None) -> None:
    """Run a gateway replica against an already migrated database and a configured fleet."""
    settings = _settings(host, port)
    _configure_logging(settings)
    _run(_serve(settings, embedded=False))


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


async def _serve(settings: Settings, *, embedded: bool) -> None:
    from gptapi.app import create_app

    url = settings.resolved_database_url
    if embedded:
        output.step("migrating the database")
        await asyncio.to_thread(upgrade, url)
    fleet: LocalFleet | None = None
    wants_local = settings.local_inference == "on" or (
        settings.local_inference == "auto" and settings.fleet_config is None and embedded
    )
    try:
        if wants_local:
            fleet = LocalFleet(
                settings.data_dir / "logs",
                parallel=settings.local_parallel,
                ctx_per_slot=settings.local_ctx_per_slot,
                threads=settings.local_threads,
            )
            output.step("starting local llama.cpp servers (SmolLM2-135M-Instruct)")
            fleet.start()
            await fleet.wait_ready(progress=output.step)
        message = await _prepare(settings, fleet, embedded=embedded)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings),
                host=settings.host,
                port=settings.port,
                loop="uvloop",
                http="httptools",
                access_log=False,
                log_level=settings.log_level,
                timeout_graceful_shutdown=30,
            )
        )
        if message:
            print(message, flush=True)
        output.step(f"serving on {settings.base_url}  (Ctrl-C stops everything)")
        await server.serve()
    finally:
        if fleet is not None:
            output.step("stopping local llama.cpp servers")
            fleet.stop()


async def _prepare(settings: Settings, fleet: LocalFleet | None, *, embedded: bool) -> str | None:
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_maker(engine)() as session, session.begin():
            if fleet is not None:
                await replace_source(session, "local", fleet.specs())
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
            return await first_run(session, settings) if embedded else None
    finally:
        await engine.dispose()
