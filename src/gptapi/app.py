"""The application: gateway (/v1), metrics and health, with a lifespan that owns every
background loop and drains them on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gptapi import __version__, error_reports, probes
from gptapi.compute.price_list import PriceListCache
from gptapi.compute.providers import build_providers
from gptapi.compute.supervisor import Supervisor
from gptapi.config import Settings, get_settings
from gptapi.console.api import console_router
from gptapi.console.auth.supabase import bearer_for
from gptapi.console.dev_mailbox import page_router as dev_mailbox_page
from gptapi.console.errors import ApiError, is_api_path, validation_error
from gptapi.console.state import ConsoleState, resolve_secret_key
from gptapi.console_web import mount_console
from gptapi.gateway import announcements, errors as openai_errors
from gptapi.gateway.catalog import ModelCatalog
from gptapi.gateway.credits import CreditAccounts, CreditStore
from gptapi.gateway.errors import OpenAIError
from gptapi.gateway.keys import KeyCache
from gptapi.gateway.limits import InMemoryRateLimiter, RateLimiter
from gptapi.gateway.metering import UsageWriter
from gptapi.gateway.middleware import RequestContextMiddleware
from gptapi.gateway.openai.response_store import ResponseStore
from gptapi.gateway.openai.router import SURFACE_PATHS, OpenAIPipeline, routes as openai_routes
from gptapi.gateway.openai.serving import OpenAIServing
from gptapi.gateway.realtime import routes as realtime_routes
from gptapi.gateway.traffic import DeploymentTraffic
from gptapi.gateway.upstream.client import UpstreamClient
from gptapi.gateway.upstream.fleet import load_specs
from gptapi.gateway.upstream.health import HealthChecker
from gptapi.gateway.upstream.registry import UpstreamRegistry
from gptapi.kit.clock import Clock, SystemClock
from gptapi.kit.db import create_engine, session_maker
from gptapi.mail.message import Mailer
from gptapi.mail.notifying import NotifyingMailer
from gptapi.mail.transports import build_transport
from gptapi.mail.unsubscribe import UnsubscribeTokens
from gptapi.probes import Readiness
from gptapi.workers import WorkerContext, worker_loops

log = logging.getLogger(__name__)

CATALOG_REFRESH_SECONDS = 10.0

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass
class Runtime:
    """Everything the lifespan builds; `app.state.runtime`."""

    settings: Settings
    engine: AsyncEngine
    serving: OpenAIServing
    health: HealthChecker
    console: ConsoleState
    compute: Supervisor
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Shared state for several gateways (REDIS_URL); None: this process's memory alone.
    redis: Redis | None = None
    catching_up: set[asyncio.Task[None]] = field(default_factory=set)

    async def deployments_changed(self) -> None:
        """A deployment became ready or stopped: route to it (or not) at once. Servers
        first (health-checked as they join), then the catalog, so a deployment is named on
        /v1 only once there is a server to send its requests to."""
        await self.sync_servers()
        await self.serving.catalog.refresh()

    async def deployment_changed(self) -> None:
        """This process routes to it at once; every other gateway process as soon as it
        hears the announcement (with Redis)."""
        await self.deployments_changed()
        announcements.publish_now(announcements.CATALOG, ["deployment"])

    def install_announcer(self) -> None:
        """Committed changes are announced to every process through Redis, if any."""
        if self.redis is None:
            return
        from gptapi.gateway import shared

        redis, prefix = self.redis, self.settings.redis_prefix
        announcements.install(
            lambda channel, messages: shared.announce(redis, prefix, channel, messages)
        )

    def catalog_announced(self, _: str) -> None:
        """Another process changed the catalog (models, prices, servers, deployments)."""
        task = asyncio.get_running_loop().create_task(self._catch_up())
        self.catching_up.add(task)
        task.add_done_callback(self.catching_up.discard)

    async def _catch_up(self) -> None:
        try:
            await self.deployments_changed()
        except Exception:
            log.exception("could not re-read the catalog; the periodic refresh will")

    async def sync_servers(self) -> None:
        async with session_maker(self.engine)() as session:
            specs = await load_specs(session)
        added, _ = self.serving.registry.sync(specs)
        await asyncio.gather(*(self.health.check(server) for server in added))

    def unservable_models(self) -> list[str]:
        """Models this platform cannot serve right now (their servers are all down); empty
        when the fleet can serve every model it has servers for."""
        return self.serving.registry.unservable()

    @property
    def can_serve(self) -> bool:
        return not self.unservable_models()

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
    # Without REDIS_URL nothing below touches Redis, nor even imports its client (which
    # loads OpenTelemetry's SDK when installed): the in-memory limiter and holds.
    redis: Redis | None = None
    limiter: RateLimiter
    accounts: CreditStore
    if not settings.redis_url:
        limiter = InMemoryRateLimiter()
        accounts = CreditAccounts(sessions, refresh_seconds=settings.balance_refresh_seconds)
    else:
        from gptapi.gateway import shared
        from gptapi.gateway.shared_credit import RedisCreditAccounts

        redis = shared.connect(settings.redis_url)
        limiter = shared.RedisRateLimiter(redis, settings.redis_prefix)
        accounts = RedisCreditAccounts(
            redis,
            settings.redis_prefix,
            sessions,
            refresh_seconds=settings.balance_refresh_seconds,
            hold_ttl_seconds=settings.credit_hold_ttl_seconds,
        )
    registry = UpstreamRegistry(
        eject_after_failures=settings.eject_after_failures,
        max_queue=settings.max_queue_per_model,
        max_queue_per_tenant=settings.max_queue_per_organization,
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
            test_rpm=settings.test_key_rpm_limit,
            test_tpm=settings.test_key_tpm_limit,
            count_spend=redis is None,  # with Redis, the credit store counts it for everyone
        ),
        limiter=limiter,
        accounts=accounts,
        writer=UsageWriter(engine, accounts, batch_max=settings.usage_batch_max),
        catalog=ModelCatalog(sessions),
        registry=registry,
        client=client,
        responses=ResponseStore(sessions),
        traffic=DeploymentTraffic(sessions, registry, clock),
    )
    health = HealthChecker(registry, client, settings.health_interval_seconds)
    secret_key = resolve_secret_key(settings)
    console = ConsoleState(
        settings=settings,
        sessions=sessions,
        # Every mail goes through people's notification preferences, whoever sends it.
        mailer=NotifyingMailer(
            mailer or build_transport(settings),
            sessions,
            UnsubscribeTokens(secret_key),
            settings.base_url,
        ),
        secret_key=secret_key,
        prices=PriceListCache(sessions),
        clock=clock,
    )
    console.bearer = bearer_for(console)
    compute = Supervisor(
        sessions,
        build_providers(settings),
        clock,
        start_timeout=settings.compute_start_timeout_seconds,
        scale_out_after=settings.compute_scale_out_after_seconds,
    )
    runtime = Runtime(settings, engine, serving, health, console, compute, redis=redis)
    compute.on_change = runtime.deployment_changed
    return runtime


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    reporting = error_reports.start(settings)
    runtime = await build_runtime(settings, clock=app.state.clock, mailer=app.state.mailer)
    serving = runtime.serving
    await serving.catalog.refresh()
    await runtime.console.prices.refresh()
    await runtime.sync_servers()
    spawn = asyncio.create_task
    runtime.tasks = [
        spawn(serving.writer.run()),
        *(spawn(loop) for loop in runtime.upstream_loops()),
        spawn(_forever("catalog refresh", CATALOG_REFRESH_SECONDS, serving.catalog.refresh)),
        spawn(
            _forever(
                "GPU price list refresh", CATALOG_REFRESH_SECONDS, runtime.console.prices.refresh
            )
        ),
        spawn(serving.keys.run_flusher(settings.last_used_flush_seconds)),
        spawn(serving.traffic.run(settings.compute_traffic_flush_seconds)),
    ]
    if runtime.redis is not None:
        from gptapi.gateway import shared

        redis, prefix = runtime.redis, settings.redis_prefix
        handlers = {
            announcements.REVOKED: serving.keys.forget_digest,
            announcements.CATALOG: runtime.catalog_announced,
        }
        runtime.tasks.append(spawn(shared.listen(redis, prefix, handlers)))
        runtime.install_announcer()
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
        # Local deployments end with the process; their runs are settled on the next start.
        await runtime.compute.close()
        await serving.keys.flush_last_used()
        await serving.client.close()
        if runtime.redis is not None:
            announcements.install(None)
            await runtime.redis.aclose()
        await runtime.engine.dispose()
        if reporting:
            error_reports.stop()


class Application(FastAPI):
    """FastAPI, except for POSTs to the /v1 surfaces: those go straight to the gateway
    pipeline behind the request-id and body-limit middleware alone. FastAPI's own layers
    (server errors, body limit, telemetry, exception handlers, routing) were a fifth of the
    CPU of a proxied request, and the pipeline does its own error handling."""

    pipeline: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in SURFACE_PATHS:
            scope["app"] = self
            await self.pipeline(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, mailer: Mailer | None = None
) -> FastAPI:
    """The whole HTTP surface. `clock` and `mailer` replace the real ones in tests."""
    settings = settings or get_settings()
    app = Application(
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
    app.state.readiness = Readiness()
    app.router.routes.extend(openai_routes)
    app.router.routes.extend(realtime_routes)
    app.include_router(console_router())
    app.include_router(dev_mailbox_page)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_request_body_bytes)
    app.pipeline = RequestContextMiddleware(
        OpenAIPipeline(), max_body_bytes=settings.max_request_body_bytes
    )

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
        if request.url.path != "/v1" and not request.url.path.startswith("/v1/"):
            return await http_exception_handler(request, exc)
        # /v1 has its own catch-all route; this covers any other HTTP error raised there.
        if exc.status_code in (404, 405):
            return openai_errors.unknown_url(request.method, request.url.path).response()
        error = OpenAIError(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}")
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
        with error_reports.request_scope(request):
            log.exception("unhandled error on %s %s", request.method, request.url.path)
        # This handler answers outside the request-id middleware: say the id here too, so
        # the caller can quote it and it can be matched to the logs and the error report.
        request_id = request.scope.get("state", {}).get("request_id")
        headers = {"x-request-id": request_id} if request_id else None
        if is_api_path(request):
            api_error = ApiError(500, "internal_error", "Something went wrong on our side.")
            api_error.headers = headers
            return api_error.response()
        error = openai_errors.internal_error()
        error.headers.update(headers or {})
        return error.response()

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> JSONResponse:
        # 503 while any model with servers has none that can take a request (a crashed
        # local llama.cpp server until it is back, every server of a pool down), naming them.
        runtime: Runtime = request.app.state.runtime
        down = runtime.unservable_models()
        if down:
            return JSONResponse({"status": "unavailable", "unservable_models": down}, 503)
        return JSONResponse({"status": "ok"})

    app.include_router(probes.router)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        token = settings.metrics_token
        if token and request.headers.get("authorization") != f"Bearer {token}":
            return Response(status_code=401)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # Last: the console answers only what no route above claims.
    mount_console(app, connect_sources=browser_connect_sources(settings))
    return app


def browser_connect_sources(settings: Settings) -> list[str]:
    """The origins besides this one the console's scripts may call: the Supabase project in
    that mode, and the error-report and analytics hosts when they are configured."""
    urls = [
        settings.supabase_url if settings.auth_provider == "supabase" else "",
        settings.sentry_browser_dsn,
        settings.posthog_host if settings.posthog_key else "",
    ]
    origins = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme and parts.hostname:
            origins.append(f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}")
    return origins
