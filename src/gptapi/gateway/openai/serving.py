"""The /v1 pipeline shared by every surface: admit, forward, meter.

    authenticate → parse → plan → rate limit → credit hold → upstream (retry before the
    first byte) → respond or stream → settle the hold to the exact cost → usage record

Every request that gets past admission ends in exactly one usage record, whatever happens
to it afterwards (upstream failure, timeout, client disconnect).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from typing import Any

import orjson
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response

from gptapi.config import Settings
from gptapi.gateway import errors
from gptapi.gateway.access_log import AccessLog
from gptapi.gateway.catalog import CatalogModel, ModelCatalog
from gptapi.gateway.credits import (
    CreditStore,
    CreditStoreUnavailable,
    Hold,
    InsufficientCredit,
    SpendCapReached,
)
from gptapi.gateway.errors import OpenAIError
from gptapi.gateway.keys import KeyCache, KeyContext
from gptapi.gateway.limits import RateLimiter
from gptapi.gateway.metering import UsageWriter
from gptapi.gateway.metrics import UPSTREAM_RETRIES
from gptapi.gateway.openai.billing import Admission, Billing, Delivered, priced
from gptapi.gateway.openai.chat import ChatSurface
from gptapi.gateway.openai.completions import CompletionSurface
from gptapi.gateway.openai.counting import (
    TokenCounter,
    reported_usage,
    usage_chunk,
)
from gptapi.gateway.openai.embeddings import EmbeddingSurface, check_dimensions
from gptapi.gateway.openai.failures import (
    insufficient,
    rate_limited,
    stream_error,
    translate_error,
)
from gptapi.gateway.openai.fanout import combine_parts, combined_usage, merged_data, part_usage
from gptapi.gateway.openai.images import ImageSurface, image_answer, image_usage
from gptapi.gateway.openai.plan import Plan, Preparing, Reading, Reply, Surface
from gptapi.gateway.openai.rerank import RerankSurface
from gptapi.gateway.openai.response_store import ResponseStore
from gptapi.gateway.openai.responses import ResponsesSurface
from gptapi.gateway.openai.speech import SpeechSurface
from gptapi.gateway.openai.transcriptions import TranscriptionSurface
from gptapi.gateway.refusals import RefusalLog
from gptapi.gateway.streaming import EventStreamResponse, cancel_on_disconnect
from gptapi.gateway.traffic import DeploymentTraffic
from gptapi.gateway.upstream.client import UpstreamClient, UpstreamReadTimeout, UpstreamResponse
from gptapi.gateway.upstream.errors import (
    NoServerAvailable,
    PoolSaturated,
    QueueShareExceeded,
)
from gptapi.gateway.upstream.registry import UpstreamRegistry, UpstreamServer
from gptapi.kit.sse import DONE, DONE_EVENT, event

log = logging.getLogger(__name__)
# How often a request held through a cold start looks for its deployment.
COLD_START_POLL_SECONDS = 0.25
KIND_NAMES = {"image": "image generation"}

SURFACE_PATHS = frozenset(
    (
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/rerank",
        "/v1/responses",
        "/v1/images/generations",
        "/v1/audio/speech",
        "/v1/audio/transcriptions",
    )
)


class OpenAIServing:
    def __init__(
        self,
        *,
        settings: Settings,
        keys: KeyCache,
        limiter: RateLimiter,
        accounts: CreditStore,
        writer: UsageWriter,
        catalog: ModelCatalog,
        registry: UpstreamRegistry,
        client: UpstreamClient,
        responses: ResponseStore,
        traffic: DeploymentTraffic,
    ) -> None:
        self.settings = settings
        self.traffic = traffic
        self.keys = keys
        self.limiter = limiter
        self.accounts = accounts
        self.writer = writer
        self.catalog = catalog
        self.registry = registry
        self.client = client
        access = AccessLog(settings.log_format == "json")
        self.billing = Billing(
            accounts=accounts,
            limiter=limiter,
            writer=writer,
            counter=TokenCounter(client, registry),
            registry=registry,
            access=access,
        )
        self.refusals = RefusalLog(writer, access=access)
        self.responses = responses
        self.surfaces: dict[str, Surface] = {
            "/v1/chat/completions": ChatSurface(),
            "/v1/completions": CompletionSurface(),
            "/v1/embeddings": EmbeddingSurface(),
            "/v1/rerank": RerankSurface(),
            "/v1/responses": ResponsesSurface(responses),
            "/v1/images/generations": ImageSurface(),
            "/v1/audio/speech": SpeechSurface(),
            "/v1/audio/transcriptions": TranscriptionSurface(),
        }
        assert frozenset(self.surfaces) == SURFACE_PATHS
        # Found once: a protocol isinstance check is too slow for every request.
        self._preparing: dict[str, Preparing] = {
            s.endpoint: s for s in self.surfaces.values() if isinstance(s, Preparing)
        }
        self._reading: dict[str, Reading] = {
            s.endpoint: s for s in self.surfaces.values() if isinstance(s, Reading)
        }

    # ---------------------------------------------------------------- admission

    async def authenticate(self, request: Request) -> KeyContext:
        return await self.authenticate_header(request.headers.get("authorization"))

    async def authenticate_header(self, header: str | None) -> KeyContext:
        """The context of the key in an `Authorization: Bearer` header."""
        if not header:
            raise errors.missing_api_key()
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise errors.invalid_api_key(header)
        return await self.authenticate_key(token)

    async def authenticate_key(self, token: str) -> KeyContext:
        """The context of an API key, however it was presented; an OpenAIError if it may
        not make inference requests."""
        try:
            context = await self.keys.authenticate(token)
        except (SQLAlchemyError, OSError):
            log.warning("database unreachable: an uncached key could not be checked")
            raise errors.key_check_unavailable() from None
        if context is None:
            raise errors.invalid_api_key(token)
        if not context.inference:
            raise errors.inference_not_allowed()
        return context

    async def handle(self, request: Request, surface: Surface) -> Response:
        started = time.perf_counter()
        context = await self.authenticate(request)
        reading = self._reading.get(surface.endpoint)
        body, size = await (reading.read(request) if reading else _read_json(request))
        return await self.serve(request, surface, context, body, size, started)

    async def serve(
        self,
        request: Request,
        surface: Surface,
        context: KeyContext,
        body: dict[str, Any],
        size: int,
        started: float,
    ) -> Response:
        """A request whose key is checked and whose body is read, answered: admitted,
        forwarded, billed. `request` gives its id (`scope["state"]`) and tells when its client
        leaves (`receive`). A WebSocket session runs each of its turns through here."""
        request_id: str = request.scope["state"]["request_id"]
        preparing = self._preparing.get(surface.endpoint)
        if preparing is not None:
            # Earlier turns the request refers to (`previous_response_id`) become part of it
            # here, so the hold and the rate limit count them.
            prepared = await preparing.prepare(body, context.organization_id)
            if prepared is not body:
                body, size = prepared, len(orjson.dumps(prepared))
        model_name = body.get("model")
        if not isinstance(model_name, str) or not model_name:
            raise errors.invalid_request("you must provide a model parameter", param="model")
        model = self.catalog.resolve(model_name, context.organization_id)
        if model is None:
            model = await self._wake_cold(model_name, context)
        if model is None:
            error = errors.model_not_found(model_name)
            error.message += self._none_of_kind(surface)
            raise error
        try:
            admission = await self._plan_and_admit(
                surface, body, size, model, context, request_id, started
            )
        except OpenAIError as error:
            self.refusals.note(error, context, model, surface.endpoint, request_id, started)
            raise
        try:
            plan = admission.plan
            if plan.stream and plan.tools is None and plan.present is None:
                return await self._stream(request, admission)
            return await self._complete(request, admission)
        except Exception as exc:
            # Every path above settles; this is the backstop for the ones nobody foresaw,
            # so no exception can leave the hold taken.
            status = exc.status if isinstance(exc, OpenAIError) else 500
            await self.billing.backstop(admission, status, "internal_error")
            raise
        except BaseException:
            self.billing.abandon(admission, 499)
            raise

    def _none_of_kind(self, surface: Surface) -> str:
        """What to add to a refusal when no public model serves the surface at all (the
        embedded default has no reranker): "" when one does."""
        if any(m.kind == surface.kind for m in self.catalog.all()):
            return ""
        kind = KIND_NAMES.get(surface.kind, surface.kind)
        return f" No {kind} model is configured on this platform."

    async def _wake_cold(self, model_name: str, context: KeyContext) -> CatalogModel | None:
        """A serverless deployment at zero (or still starting): start it and hold the
        request up to COMPUTE_COLD_START_WAIT_SECONDS for it to be ready; past that a 503
        with Retry-After. None when the name is no such deployment."""
        cold = await self.catalog.cold(model_name, context.organization_id)
        if cold is None:
            return None
        if not context.may_use(cold.deployment_id):
            raise errors.model_not_allowed(cold.deployment_id)
        if not await self.catalog.wake(cold):
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.compute_cold_start_wait_seconds
        polls = 0
        while loop.time() < deadline:
            await asyncio.sleep(COLD_START_POLL_SECONDS)
            model = self.catalog.resolve(model_name, context.organization_id)
            if model is not None:
                return model
            polls += 1
            # Now and then ask the database: a start that failed (or a stop) ends the wait.
            if (
                polls % 8 == 0
                and await self.catalog.cold(model_name, context.organization_id) is None
            ):
                return None
        raise errors.cold_start(model_name, cold.cold_start_seconds)

    async def _plan_and_admit(
        self,
        surface: Surface,
        body: dict[str, Any],
        size: int,
        model: CatalogModel,
        context: KeyContext,
        request_id: str,
        started: float,
    ) -> Admission:
        model_name = model.internal_name
        if not context.may_use(model_name):
            raise errors.model_not_allowed(model_name)
        if self.keys.cap_reached(context):
            raise errors.key_spend_cap_reached()
        if model.kind != surface.kind:
            message = f"The model `{model_name}` does not support {surface.endpoint}."
            message += self._none_of_kind(surface)
            raise errors.invalid_request(message, param="model", code="model_not_supported")
        if model.private:
            self.traffic.touch(model_name)  # keeps its deployment warm, whatever runs it
        pool = self.registry.pool(model_name)
        if pool is None or not pool.serving:
            raise errors.upstream_unavailable(model_name)
        cap = min(pool.context_length or self.settings.max_tokens_cap, self.settings.max_tokens_cap)
        plan = surface.plan(body, model, body_size=size, output_cap=cap)
        if plan.dimensions is not None:
            check_dimensions(plan.dimensions, pool.embedding_length, model_name)
        return await self._admit(plan, context, request_id, started)

    async def _admit(
        self, plan: Plan, context: KeyContext, request_id: str, started: float
    ) -> Admission:
        tokens = plan.prompt_estimate + plan.max_output
        decision = await self.limiter.acquire(
            context.limiter_key, context.rpm_limit, context.tpm_limit, tokens
        )
        if not decision.allowed:
            raise rate_limited(decision, plan, context)
        if context.test_mode:
            # Test mode never touches live credit: a closed, empty hold reserves nothing.
            hold = Hold(context.organization_id, 0, open=False)
        else:
            max_cost = plan.max_cost()
            try:
                hold = await self.accounts.reserve(
                    context.organization_id, max_cost, context.spend_cap
                )
            except SpendCapReached:
                await self.limiter.refund(context.limiter_key, context.tpm_limit, tokens)
                raise errors.key_spend_cap_reached() from None
            except InsufficientCredit as exc:
                await self.limiter.refund(context.limiter_key, context.tpm_limit, tokens)
                raise insufficient(exc, plan, decision.headers) from None
            except CreditStoreUnavailable:
                # Fail closed: nothing is served on credit that could not be reserved.
                await self.limiter.refund(context.limiter_key, context.tpm_limit, tokens)
                raise errors.credit_unavailable() from None
        self.keys.charge(context, hold)
        return Admission(plan, context, hold, decision.headers, request_id, started, tokens)

    # ---------------------------------------------------------------- forwarding

    async def _open(
        self, admission: Admission, payload: dict[str, Any]
    ) -> tuple[UpstreamServer, UpstreamResponse]:
        """A server's response head, retrying elsewhere on connect errors and 503s.

        A read timeout is not retried: the server has the request and may still be working
        on it, so it raises `TimeoutError` (504) instead of running the request twice.
        """
        plan = admission.plan
        body = orjson.dumps(payload) if plan.raw_body is None else plan.raw_body
        exclude: set[str] = set()
        for _ in range(self.settings.upstream_attempts):
            try:
                server = await self.registry.acquire(
                    plan.model.internal_name,
                    exclude,
                    self.settings.queue_timeout_seconds,
                    admission.context.organization_id,  # the queue is fair between these
                )
            except NoServerAvailable:
                raise errors.upstream_unavailable(plan.requested_model) from None
            except QueueShareExceeded:
                raise errors.queue_share_exceeded(plan.requested_model) from None
            except PoolSaturated:
                raise errors.overloaded(plan.requested_model) from None
            admission.sent_to = server
            try:
                # (Whether the upstream request streams: a streamed tool call does not.)
                response = await self.client.post(
                    server,
                    plan.path,
                    body,
                    admission.request_id,
                    close=bool(payload.get("stream")),
                    content_type=plan.content_type,
                )
            except OSError as exc:
                self.registry.release(server)
                self.registry.report_failure(server, f"{type(exc).__name__}: {exc}")
                if isinstance(exc, UpstreamReadTimeout):
                    raise
                admission.sent_to = None
                exclude.add(server.base_url)
                UPSTREAM_RETRIES.labels(plan.requested_model).inc()
                continue
            except BaseException:
                self.registry.release(server)
                raise
            if response.status == 503:
                response.release()
                self.registry.release(server)
                self.registry.report_failure(server, "503 before the first byte")
                admission.sent_to = None
                exclude.add(server.base_url)
                UPSTREAM_RETRIES.labels(plan.requested_model).inc()
                continue
            # Success is reported when the response is complete, not at its head: a server
            # that breaks every stream midway must still reach `eject_after_failures`.
            return server, response
        raise errors.upstream_unavailable(plan.requested_model)

    async def _exchange(
        self, admission: Admission, payload: dict[str, Any]
    ) -> tuple[UpstreamServer, int, bytes]:
        server, response = await self._open(admission, payload)
        try:
            raw = await response.read()
        except BaseException:
            response.close()  # an unfinished response must not go back to the pool
            raise
        finally:
            self.registry.release(server)
        return server, response.status, raw

    async def _exchange_all(self, admission: Admission) -> list[tuple[UpstreamServer, int, bytes]]:
        parts = admission.plan.parts
        if not parts:
            return [await self._exchange(admission, admission.plan.payload)]

        async def run(
            payload: dict[str, Any], bills_prompt: bool
        ) -> tuple[UpstreamServer, int, bytes]:
            server, status, raw = await self._exchange(admission, payload)
            if status == 200:  # it ran: billed even if another part fails the request
                admission.ran.append(part_usage(raw, bills_prompt))
            return server, status, raw

        try:
            async with asyncio.TaskGroup() as group:  # one fails: the others are cancelled
                tasks = [group.create_task(run(p, bills)) for p, bills in parts]
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return [task.result() for task in tasks]

    async def _complete(self, request: Request, admission: Admission) -> Response:
        plan = admission.plan
        server: UpstreamServer | None = None
        async with cancel_on_disconnect(request.receive) as gone:
            try:
                async with asyncio.timeout(self.settings.upstream_total_timeout_seconds):
                    answers = await self._exchange_all(admission)
                server = answers[0][0]
            except asyncio.CancelledError:
                if not gone.is_set():
                    raise
                asyncio.current_task().uncancel()  # type: ignore[union-attr]
                return self._gone_before_response(admission)
            except TimeoutError:
                raise await self._timed_out(admission, server) from None
            except OpenAIError as exc:
                raise await self._refused(admission, exc) from None
            except OSError as exc:
                log.warning("upstream %s failed mid-response: %s", server and server.base_url, exc)
                await self.billing.finish_unbilled(admission, 502, "upstream_error", server)
                raise errors.upstream_failed() from None
        for server, status, raw in answers:
            if status != 200:
                error = translate_error(status, raw, plan)
                await self.billing.finish_unbilled(
                    admission, error.status, "upstream_rejected", server
                )
                error.headers.update(admission.headers)
                raise error
        if plan.reply is not None:
            server, _, raw = answers[0]
            return await self._reply(admission, plan.reply, server, raw)
        bodies: list[dict[str, Any]] = []
        for server, _, raw in answers:
            body = _answer(raw)
            if body is None or (plan.readable is not None and not plan.readable(body)):
                # Nothing the client can use was delivered: like any failure before output,
                # it costs nothing (the README's promise), and it counts against the server.
                log.error("upstream %s returned an unreadable body: %r", server.base_url, raw[:200])
                self.registry.report_failure(server, "unreadable 200 body")
                await self.billing.finish_unbilled(admission, 502, "upstream_error", server)
                raise errors.upstream_failed()
            self.registry.report_success(server)
            bodies.append(body)
        if plan.images:
            return await self._images(admission, server, bodies[0])
        if plan.parts:
            data, usage = combine_parts(plan.parts, bodies)
        else:
            data, usage = bodies[0], reported_usage(bodies[0].get("usage"))
        data["model"] = plan.requested_model
        data.pop("timings", None)
        if plan.tools is not None:
            data = plan.tools.answer(data)
        if usage is not None:
            cost = await self.billing.bill(admission, *usage, 200, "completed", "upstream", server)
            data["usage"] = priced(data["usage"], cost)
        else:
            # An upstream that reports no usage: count the answer, and tell the client.
            delivered = Delivered()
            delivered.add(data)
            data["usage"] = await self.billing.bill_counted(
                admission, server, delivered, 200, "completed"
            )
        if plan.finish is not None:
            plan.finish(data)
        if plan.present is not None:
            return await plan.present(data, admission.context.organization_id, admission.headers)
        if plan.stream and plan.tools is not None:
            return EventStreamResponse(
                _replay(plan.tools.chunks(data, plan.include_usage)), admission.headers
            )
        return Response(orjson.dumps(data), 200, admission.headers, "application/json")

    async def _reply(
        self, admission: Admission, reply: Reply, server: UpstreamServer, raw: bytes
    ) -> Response:
        """An audio answer: charged what it was metered in (known before it ran, so the
        hold), then given to the client as its surface answers."""
        try:
            # Read before it is charged: a body the client cannot use costs nothing.
            answer = reply(raw)
        except ValueError as exc:
            log.error("upstream %s returned an unusable body: %s", server.base_url, exc)
            self.registry.report_failure(server, "unusable 200 body")
            await self.billing.finish_unbilled(admission, 502, "upstream_error", server)
            raise errors.upstream_failed() from None
        self.registry.report_success(server)
        cost = await self.billing.bill_metered(admission, server)
        return answer(cost, admission.headers)

    async def _images(
        self, admission: Admission, server: UpstreamServer, body: dict[str, Any]
    ) -> Response:
        """An image server's answer, billed for the images it holds (none: a failure, free)."""
        answer, count = image_answer(admission.plan, body)
        if not count:
            self.registry.report_failure(server, "200 without images")
            await self.billing.finish_unbilled(admission, 502, "upstream_error", server)
            raise errors.upstream_failed()
        cost = await self.billing.bill(
            admission, 0, 0, 200, "completed", "upstream", server, images=count
        )
        answer["usage"] = image_usage(count, priced({}, cost))
        return Response(orjson.dumps(answer), 200, admission.headers, "application/json")

    async def _timed_out(self, admission: Admission, server: UpstreamServer | None) -> OpenAIError:
        await self.billing.finish_unbilled(admission, 504, "timeout", server)
        return errors.upstream_timeout()

    async def _refused(self, admission: Admission, error: OpenAIError) -> OpenAIError:
        """No server took the request (none healthy, all busy): recorded, not billed."""
        await self.billing.finish_unbilled(admission, error.status, "upstream_unavailable", None)
        error.headers.update(admission.headers)
        return error

    def _gone_before_response(self, admission: Admission) -> Response:
        """The client left before any output: billed for the prompt if a server had it,
        free if it was still waiting for a slot. An audio request is billed only for the
        answer it is given, so it is free too."""
        if admission.sent_to is None or admission.plan.metered is not None:
            self.billing.spawn(
                admission, self.billing.finish_unbilled(admission, 499, "client_disconnect", None)
            )
        else:
            self.billing.spawn(
                admission,
                self.billing.bill_counted(
                    admission, admission.sent_to, Delivered(), 499, "client_disconnect"
                ),
            )
        return Response(status_code=499)

    async def _open_all(
        self, admission: Admission
    ) -> list[tuple[UpstreamServer, UpstreamResponse]]:
        """Every generation's response head (one for most requests), in the parts' order;
        if one cannot be opened, those that were are closed and their servers freed."""
        payloads = [payload for payload, _ in admission.plan.parts] or [admission.plan.payload]
        if len(payloads) == 1:
            return [await self._open(admission, payloads[0])]
        tasks: list[asyncio.Task[tuple[UpstreamServer, UpstreamResponse]]] = []
        try:
            async with asyncio.TaskGroup() as group:
                tasks += [group.create_task(self._open(admission, p)) for p in payloads]
        except BaseException as failed:
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is None:
                    server, response = task.result()
                    response.close()
                    self.registry.release(server)
            if isinstance(failed, BaseExceptionGroup):
                raise failed.exceptions[0] from None
            raise
        return [task.result() for task in tasks]

    def _close_all(self, opened: list[tuple[UpstreamServer, UpstreamResponse]]) -> None:
        for server, response in opened:
            response.close()
            self.registry.release(server)

    async def _stream(self, request: Request, admission: Admission) -> Response:
        try:
            async with asyncio.timeout(self.settings.upstream_total_timeout_seconds):
                # Watched like `_complete`: a client that leaves while queued for a slot
                # gives up its place instead of being sent upstream later.
                async with cancel_on_disconnect(request.receive) as gone:
                    try:
                        opened = await self._open_all(admission)
                    except asyncio.CancelledError:
                        if not gone.is_set():
                            raise
                        asyncio.current_task().uncancel()  # type: ignore[union-attr]
                        return self._gone_before_response(admission)
        except TimeoutError:
            raise await self._timed_out(admission, None) from None
        except OpenAIError as exc:
            raise await self._refused(admission, exc) from None
        refused = next(((s, r) for s, r in opened if r.status != 200), None)
        if refused is not None:
            server, response = refused
            raw = await response.read()
            response.release()  # read to the end: its connection goes back to the pool
            self.registry.release(server)
            self._close_all([pair for pair in opened if pair is not refused])
            error = translate_error(response.status, raw, admission.plan)
            await self.billing.finish_unbilled(admission, error.status, "upstream_rejected", server)
            error.headers.update(admission.headers)
            raise error

        def never_started() -> None:
            # The client went before the first byte could be sent: the relay never ran, so
            # its `finally` will not free the servers or settle (they had the prompt).
            self._close_all(opened)
            self.billing.spawn(
                admission,
                self.billing.bill_counted(
                    admission, opened[0][0], Delivered(), 499, "client_disconnect"
                ),
            )

        return EventStreamResponse(self._relay(admission, opened), admission.headers, never_started)

    async def _relay(
        self, admission: Admission, opened: list[tuple[UpstreamServer, UpstreamResponse]]
    ) -> AsyncGenerator[bytes, None]:
        """The upstream stream to the client; with several generations, their streams
        merged as OpenAI sends them: one id, each choice at its own index."""
        plan = admission.plan
        server = opened[0][0]  # the one a usage record names
        several = len(opened) > 1
        delivered = Delivered()
        usages: list[dict[str, Any] | None] = [None] * len(opened)
        done: set[int] = set()
        failed: list[int] = []  # the part whose stream broke
        outcome = "upstream_error"
        error_payload: dict[str, Any] | None = None
        head: dict[str, Any] = {}  # the last chunk sent, for the id a usage chunk repeats
        deadline = time.monotonic() + self.settings.upstream_total_timeout_seconds
        try:
            contents = [response.content for _, response in opened]
            async with aclosing(merged_data(contents, failed)) as stream:
                async for part, data in stream:
                    if data == DONE:
                        done.add(part)
                        if len(done) == len(opened):
                            outcome = "completed"
                            break
                        continue
                    obj = orjson.loads(data)
                    if not isinstance(obj, dict):
                        raise ValueError(f"stream chunk is not an object: {data[:100]!r}")
                    if "error" in obj:
                        error_payload = obj
                        failed.append(part)
                        break
                    if obj.get("usage"):
                        # Held back: the client's usage chunk comes once the request is
                        # billed, with its cost.
                        usages[part] = obj.pop("usage")
                        if not obj.get("choices"):
                            continue
                    obj["model"] = plan.requested_model
                    obj.pop("timings", None)
                    if several:
                        obj["id"] = head.get("id", obj.get("id"))
                        for choice in obj.get("choices") or ():
                            choice["index"] = part
                    if plan.rewrite_chunk is not None:
                        plan.rewrite_chunk(obj)
                    head = obj
                    if plan.translate is None:
                        yield event(orjson.dumps(obj))
                    else:
                        for translated in plan.translate.chunk(obj):
                            yield translated
                    delivered.add(obj)
                    if delivered.first_token_at is None and delivered.chunks:
                        delivered.first_token_at = time.perf_counter()
                    if time.monotonic() > deadline:
                        outcome = "timeout"
                        break
        except (asyncio.CancelledError, GeneratorExit):
            outcome = "client_disconnect"
            raise
        except (OSError, ValueError) as exc:
            log.warning("upstream %s broke mid-stream: %s", server.base_url, exc)
            outcome = "timeout" if isinstance(exc, TimeoutError) else "upstream_error"
        except Exception:
            # A chunk this relay could not handle: billed like a broken stream, for what
            # was delivered, rather than escaping with the hold taken.
            log.exception("relaying from %s failed", server.base_url)
        finally:
            self._close_all(opened)
            for part, (part_server, _) in enumerate(opened):
                # A broken part is its server's failure; without one, each unfinished part's.
                broke = part in failed if failed else part not in done
                if outcome == "completed":
                    self.registry.report_success(part_server)
                elif outcome == "upstream_error" and broke:
                    self.registry.report_failure(part_server, "stream broke")
            usage = combined_usage(plan.parts, usages) if several else usages[0]
            if outcome == "client_disconnect":
                self.billing.spawn(
                    admission,
                    self.billing.settle_stream(admission, server, delivered, usage, outcome),
                    200,
                )
        if outcome == "client_disconnect":
            return
        try:
            billed = await self.billing.settle_stream(admission, server, delivered, usage, outcome)
        finally:
            self.billing.abandon(admission, 200)
        if plan.translate is not None:
            if outcome == "completed":
                ending = await plan.translate.finish(billed, admission.context.organization_id)
            else:
                ending = plan.translate.failed(outcome, error_payload)
            for translated in ending:
                yield translated
            return
        if outcome != "completed":
            yield event(orjson.dumps(stream_error(outcome, error_payload)))
        elif plan.include_usage:
            # Upstream's figures, or the counted ones if it sent none, with the cost.
            yield event(orjson.dumps(usage_chunk(head, plan.requested_model, billed)))
        yield DONE_EVENT

    async def drain(self) -> None:
        """Wait for disconnect settlements still in flight (shutdown)."""
        await self.billing.drain()


async def _replay(chunks: Iterable[dict[str, Any]]) -> AsyncGenerator[bytes, None]:
    for chunk in chunks:
        yield event(orjson.dumps(chunk))
    yield DONE_EVENT


def _answer(raw: bytes) -> dict[str, Any] | None:
    """An upstream 200 body, if it is the JSON object of a completion, an embeddings list or
    a ranking."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    items = next((data[key] for key in ("choices", "data", "results") if key in data), None)
    return data if isinstance(items, list) else None


async def _read_json(request: Request) -> tuple[dict[str, Any], int]:
    raw = await request.body()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.invalid_request("The request body is not valid UTF-8.") from None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.invalid_request(
            "We could not parse the JSON body of your request. The OpenAI API expects a JSON "
            "payload."
        ) from None
    if not isinstance(body, dict):
        raise errors.invalid_request("The request body must be a JSON object.")
    for name, value in body.items():
        if _nesting(value) > MAX_JSON_DEPTH - 1:
            raise errors.invalid_request(
                f"The request body nests JSON deeper than {MAX_JSON_DEPTH} levels.",
                param=name,
                code="invalid_value",
            )
    return body, len(raw)


# Nesting a request body may have (the body itself is level 1). Far beyond any real tool
# schema or message, and well inside what the JSON encoder forwarding it accepts (a body it
# cannot re-encode would fail after the credit hold is taken).
MAX_JSON_DEPTH = 64


def _nesting(value: Any) -> int:
    """How many levels of arrays and objects `value` nests (0 for a scalar), without
    recursion: the body can be nested as deep as the parser allows."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth < MAX_JSON_DEPTH:  # deeper is refused anyway
            stack.extend((child, depth + 1) for child in children)
    return deepest
