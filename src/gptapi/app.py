"""The application: gateway (/v1), metrics and health, with a lifespan that owns every
background loop and drains them on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from gptapi import __version__
from gptapi.config import Settings, get_settings
from gptapi.console.api import console_router
from gptapi.console.auth.supabase import bearer_for
from gptapi.console.dev_mailbox import page_router as dev_mailbox_page
from gptapi.console.errors import ApiError, is_api_path, validation_error
from gptapi.console.mail import Mailer, build_mailer
from gptapi.console.state import ConsoleState, resolve_secret_key
from gptapi.console_web import mount_console
from gptapi.gateway.catalog import ModelCatalog
from gptapi.gateway.credits import CreditAccounts
from gptapi.gateway.errors import OpenAIError
from gptapi.gateway.keys import KeyCache
from gptapi.gateway.limits import InMemoryRateLimiter
from gptapi.gateway.metering import UsageWriter
from gptapi.gateway.middleware import RequestContextMiddleware
from gptapi.gateway.openai.router import OpenAIDispatch, routes as openai_routes
from gptapi.gateway.openai.serving import OpenAIServing
from gptapi.gateway.upstream.client import UpstreamClient
from gptapi.gateway.upstream.fleet import load_specs
from gptapi.gateway.upstream.health import HealthChecker
from gptapi.gateway.upstream.registry import UpstreamRegistry
from gptapi.kit.clock import Clock, SystemClock
from gptapi.kit.db import create_engine, session_maker
from gptapi.workers import WorkerContext, worker_loops

log = logging.getLogger(__name__)

CATALOG_REFRESH_SECONDS = 10.0


@dataclass
class Runtime:
    """Everything the lifespan builds; `app.state.runtime`."""

    settings: Settings
    engine: AsyncEngine
    serving: OpenAIServing
    health: HealthChecker
    console: ConsoleState
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def sync_servers(self) -> None:
        async with session_maker(self.engine)() as session:
            specs = await load_specs(session)
        added, _ = self.serving.registry.sync(specs)
        await asyncio.gather(*(self.health.check(server) for server in added))

    def upstream_loops(self) -> list[Coroutine[Any, Any, None]]:
        """Health checks and server-table sync: whatever reads the registry needs them."""
        interval = self.settings.server_sync_seconds
        return [self.health.run(), _forever("server sync", interval, self.sync_servers)]

    def worker_loops(self) -> list[Coroutine[Any, Any, None]]:
        console = self.console
        context = WorkerContext(
            self.settings, self.engine, console.sessions, console.mailer, console.clock, self
        )
        return worker_loops(context)


async def _forever(name: str, interval: float, step: Callable[[], Awaitable[None]]) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await step()
        except Exception:
            log.exception("%s failed; retrying", name)


async def build_runtime(settings: Settings, *, clock: Clock, mailer: Mailer | None) -> Runtime:
    engine = create_engine(settings.resolved_database_url)
    sessions = session_maker(engine)
    accounts = CreditAccounts(sessions, refresh_seconds=settings.balance_refresh_seconds)
    registry = UpstreamRegistry(
        eject_after_failures=settings.eject_after_failures,
        max_queue=settings.max_queue_per_model,
    )
    client = UpstreamClient(
        connect_timeout=settings.upstream_connect_timeout_seconds,
        read_timeout=settings.upstream_read_timeout_seconds,
    )
    serving = OpenAIServing(
        settings=settings,
        keys=KeyCache(
            sessions,
            ttl=settings.key_cache_ttl_seconds,
            negative_ttl=settings.key_negative_cache_ttl_seconds,
            default_rpm=settings.default_rpm_limit,
            default_tpm=settings.default_tpm_limit,
        ),
        limiter=InMemoryRateLimiter(),
        accounts=accounts,
        writer=UsageWriter(engine, accounts, batch_max=settings.usage_batch_max),
        catalog=ModelCatalog(sessions),
        registry=registry,
        client=client,
    )
    health = HealthChecker(registry, client, settings.health_interval_seconds)
    console = ConsoleState(
        settings=settings,
        sessions=sessions,
        mailer=mailer or build_mailer(settings),
        secret_key=resolve_secret_key(settings),
        clock=clock,
    )
    console.bearer = bearer_for(console)
    return Runtime(settings, engine, serving, health, console)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    runtime = await build_runtime(settings, clock=app.state.clock, mailer=app.state.mailer)
    serving = runtime.serving
    await serving.catalog.refresh()
    await runtime.sync_servers()
    spawn = asyncio.create_task
    runtime.tasks = [
        spawn(serving.writer.run()),
        *(spawn(loop) for loop in runtime.upstream_loops()),
        spawn(_forever("catalog refresh", CATALOG_REFRESH_SECONDS, serving.catalog.refresh)),
        spawn(serving.keys.run_flusher(settings.last_used_flush_seconds)),
    ]
    if settings.run_workers:
        runtime.tasks.extend(spawn(loop) for loop in runtime.worker_loops())
    app.state.runtime = runtime
    app.state.serving = serving
    app.state.console = runtime.console
    try:
        yield
    finally:
        await serving.drain()
        await serving.writer.close()
        writer_task = runtime.tasks[0]
        for task in runtime.tasks[1:]:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer_task
        await asyncio.gather(*runtime.tasks[1:], return_exceptions=True)
        await serving.keys.flush_last_used()
        await serving.client.close()
        await runtime.engine.dispose()


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, mailer: Mailer | None = None
) -> FastAPI:
    """The whole HTTP surface. `clock` and `mailer` replace the real ones in tests."""
    settings = settings or get_settings()
    app = FastAPI(
        title="GPT API",
        version=__version__,
        summary="OpenAI-compatible inference over llama.cpp, billed per token.",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        # Prometheus at /metrics covers what the native OpenTelemetry hooks would record, and
        # they cost a measurable share of a proxied request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.mailer = mailer
    app.router.routes.extend(openai_routes)
    app.include_router(console_router())
    app.include_router(dev_mailbox_page)
    # Added last runs first: request id and body limit, then the /v1 fast path.
    app.add_middleware(OpenAIDispatch)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_request_body_bytes)

    @app.exception_handler(OpenAIError)
    async def _openai_error(_: Request, exc: OpenAIError) -> Response:
        return exc.response()

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if is_api_path(request):
            code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
            return ApiError(exc.status_code, code, str(exc.detail), headers=exc.headers).response()
        # Unknown paths and methods under /v1 answer in OpenAI's shape too.
        if not request.url.path.startswith("/v1"):
            return await http_exception_handler(request, exc)
        error = OpenAIError(
            exc.status_code,
            f"{request.method} {request.url.path}: {exc.detail}",
            code="not_found" if exc.status_code == 404 else "method_not_allowed",
        )
        return Response(error.json_bytes(), exc.status_code, exc.headers, "application/json")

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        if is_api_path(request):
            return validation_error(exc).response()
        detail = exc.errors()[0] if exc.errors() else {}
        message = f"Invalid request: {detail.get('msg', 'bad input')}"
        return Response(OpenAIError(400, message).json_bytes(), 400, None, "application/json")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if is_api_path(request):
            return ApiError(500, "internal_error", "Something went wrong on our side.").response()
        error = OpenAIError(
            500,
            "The server had an error while processing your request.",
            type="server_error",
            code="internal_error",
        )
        return Response(error.json_bytes(), 500, None, "application/json")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        token = settings.metrics_token
        if token and request.headers.get("authorization") != f"Bearer {token}":
            return Response(status_code=401)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # Last: the console answers only what no route above claims.
    mount_console(app)
    return app
