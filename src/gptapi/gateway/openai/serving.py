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
from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import orjson
from starlette.requests import Request
from starlette.responses import Response

from gptapi.config import Settings
from gptapi.gateway import errors
from gptapi.gateway.catalog import ModelCatalog
from gptapi.gateway.credits import CreditAccounts, InsufficientCredit
from gptapi.gateway.errors import OpenAIError
from gptapi.gateway.keys import KeyCache, KeyContext
from gptapi.gateway.limits import RateLimiter
from gptapi.gateway.metering import UsageWriter
from gptapi.gateway.metrics import UPSTREAM_RETRIES
from gptapi.gateway.openai.billing import Admission, Billing, Delivered
from gptapi.gateway.openai.counting import (
    TokenCounter,
    reported_usage,
    usage_chunk,
)
from gptapi.gateway.openai.failures import (
    insufficient,
    rate_limited,
    stream_error,
    translate_error,
)
from gptapi.gateway.openai.fanout import combine_parts
from gptapi.gateway.openai.plan import Plan, Surface
from gptapi.gateway.streaming import EventStreamResponse, cancel_on_disconnect
from gptapi.gateway.upstream.client import UpstreamClient
from gptapi.gateway.upstream.errors import NoServerAvailable, PoolSaturated
from gptapi.gateway.upstream.registry import UpstreamRegistry, UpstreamServer
from gptapi.kit.sse import DONE, DONE_EVENT, event, iter_data

log = logging.getLogger(__name__)


class OpenAIServing:
    def __init__(
        self,
        *,
        settings: Settings,
        keys: KeyCache,
        limiter: RateLimiter,
        accounts: CreditAccounts,
        writer: UsageWriter,
        catalog: ModelCatalog,
        registry: UpstreamRegistry,
        client: UpstreamClient,
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.limiter = limiter
        self.accounts = accounts
        self.writer = writer
        self.catalog = catalog
        self.registry = registry
        self.client = client
        self.billing = Billing(
            accounts=accounts,
            limiter=limiter,
            writer=writer,
            counter=TokenCounter(client, registry),
        )

    # ---------------------------------------------------------------- admission

    async def authenticate(self, request: Request) -> KeyContext:
        header = request.headers.get("authorization")
        if not header:
            raise errors.missing_api_key()
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise errors.invalid_api_key(header)
        context = await self.keys.authenticate(token)
        if context is None:
            raise errors.invalid_api_key(token)
        return context

    async def handle(self, request: Request, surface: Surface) -> Response:
        started = time.perf_counter()
        request_id: str = request.scope["state"]["request_id"]
        context = await self.authenticate(request)
        body, size = await _read_json(request)
        model_name = body.get("model")
        if not isinstance(model_name, str) or not model_name:
            raise errors.invalid_request("you must provide a model parameter", param="model")
        model = self.catalog.get(model_name)
        if model is None:
            raise errors.model_not_found(model_name)
        if not context.may_use(model_name):
            raise errors.model_not_allowed(model_name)
        if self.keys.cap_reached(context):
            raise errors.key_spend_cap_reached()
        if model.kind != surface.kind:
            raise errors.invalid_request(
                f"The model `{model_name}` does not support {surface.endpoint}.",
                param="model",
                code="model_not_supported",
            )
        pool = self.registry.pool(model_name)
        if pool is None or not pool.serving:
            raise errors.upstream_unavailable(model_name)
        cap = min(pool.context_length or self.settings.max_tokens_cap, self.settings.max_tokens_cap)
        plan = surface.plan(body, model, body_size=size, output_cap=cap)
        admission = await self._admit(plan, context, request_id, started)
        if plan.stream:
            return await self._stream(request, admission)
        return await self._complete(request, admission)

    async def _admit(
        self, plan: Plan, context: KeyContext, request_id: str, started: float
    ) -> Admission:
        tokens = plan.prompt_estimate + plan.max_output
        decision = await self.limiter.acquire(
            context.limiter_key, context.rpm_limit, context.tpm_limit, tokens
        )
        if not decision.allowed:
            raise rate_limited(decision, plan, context)
        max_cost = plan.model.cost(plan.prompt_estimate, plan.max_output)
        try:
            hold = await self.accounts.reserve(context.organization_id, max_cost)
        except InsufficientCredit as exc:
            await self.limiter.refund(context.limiter_key, context.tpm_limit, tokens)
            raise insufficient(exc, plan, decision.headers) from None
        self.keys.charge(context, hold)
        return Admission(plan, context, hold, decision.headers, request_id, started, tokens)

    # ---------------------------------------------------------------- forwarding

    async def _open(
        self, admission: Admission, payload: dict[str, Any]
    ) -> tuple[UpstreamServer, aiohttp.ClientResponse]:
        """A server's response head, retrying elsewhere on connect errors and 503s.

        A read timeout is not retried: the server has the request and may still be working
        on it, so it raises `TimeoutError` (504) instead of running the request twice.
        """
        plan = admission.plan
        body = orjson.dumps(payload)
        exclude: set[str] = set()
        for _ in range(self.settings.upstream_attempts):
            try:
                server = await self.registry.acquire(
                    plan.model.internal_name, exclude, self.settings.queue_timeout_seconds
                )
            except NoServerAvailable:
                raise errors.upstream_unavailable(plan.requested_model) from None
            except PoolSaturated:
                raise errors.overloaded(plan.requested_model) from None
            admission.sent_to = server
            try:
                response = await self.client.post(
                    server, plan.path, body, admission.request_id, close=plan.stream
                )
            except (aiohttp.ClientConnectionError, OSError) as exc:
                self.registry.release(server)
                self.registry.report_failure(server, f"{type(exc).__name__}: {exc}")
                if isinstance(exc, aiohttp.ServerTimeoutError) and not isinstance(
                    exc, aiohttp.ConnectionTimeoutError
                ):
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
        try:
            async with asyncio.TaskGroup() as group:  # one fails: the others are cancelled
                tasks = [group.create_task(self._exchange(admission, p)) for p, _ in parts]
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
            except (aiohttp.ClientError, OSError) as exc:
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
        bodies: list[dict[str, Any]] = []
        for server, _, raw in answers:
            body = _answer(raw)
            if body is None:
                log.error("upstream %s returned an unreadable body: %r", server.base_url, raw[:200])
                await self.billing.bill_counted(
                    admission, server, Delivered(), 502, "upstream_error"
                )
                raise errors.upstream_failed()
            self.registry.report_success(server)
            bodies.append(body)
        if plan.parts:
            data, usage = combine_parts(plan.parts, bodies)
        else:
            data, usage = bodies[0], reported_usage(bodies[0].get("usage"))
        data["model"] = plan.requested_model
        data.pop("timings", None)
        if usage is not None:
            await self.billing.bill(admission, *usage, 200, "completed", "upstream", server)
        else:
            # An upstream that reports no usage: count the answer, and tell the client.
            delivered = Delivered()
            delivered.add(data)
            counts = await self.billing.bill_counted(admission, server, delivered, 200, "completed")
            data["usage"] = counts.usage()
        return Response(orjson.dumps(data), 200, admission.headers, "application/json")

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
        free if it was still waiting for a slot."""
        if admission.sent_to is None:
            self.billing.spawn(
                self.billing.finish_unbilled(admission, 499, "client_disconnect", None)
            )
        else:
            self.billing.spawn(
                self.billing.bill_counted(
                    admission, admission.sent_to, Delivered(), 499, "client_disconnect"
                )
            )
        return Response(status_code=499)

    async def _stream(self, request: Request, admission: Admission) -> Response:
        try:
            async with asyncio.timeout(self.settings.upstream_total_timeout_seconds):
                # Watched like `_complete`: a client that leaves while queued for a slot
                # gives up its place instead of being sent upstream later.
                async with cancel_on_disconnect(request.receive) as gone:
                    try:
                        server, response = await self._open(admission, admission.plan.payload)
                    except asyncio.CancelledError:
                        if not gone.is_set():
                            raise
                        asyncio.current_task().uncancel()  # type: ignore[union-attr]
                        return self._gone_before_response(admission)
        except TimeoutError:
            raise await self._timed_out(admission, None) from None
        except OpenAIError as exc:
            raise await self._refused(admission, exc) from None
        if response.status != 200:
            raw = await response.read()
            response.release()
            self.registry.release(server)
            error = translate_error(response.status, raw, admission.plan)
            await self.billing.finish_unbilled(admission, error.status, "upstream_rejected", server)
            error.headers.update(admission.headers)
            raise error
        return EventStreamResponse(self._relay(admission, server, response), admission.headers)

    async def _relay(
        self, admission: Admission, server: UpstreamServer, response: aiohttp.ClientResponse
    ) -> AsyncGenerator[bytes, None]:
        plan = admission.plan
        delivered = Delivered()
        usage: dict[str, Any] | None = None
        outcome = "upstream_error"
        error_payload: dict[str, Any] | None = None
        head: dict[str, Any] = {}  # the last chunk sent, for the id a usage chunk repeats
        deadline = time.monotonic() + self.settings.upstream_total_timeout_seconds
        try:
            async for data in iter_data(response.content):
                if data == DONE:
                    outcome = "completed"
                    break
                obj = orjson.loads(data)
                if not isinstance(obj, dict):
                    raise ValueError(f"stream chunk is not an object: {data[:100]!r}")
                if "error" in obj:
                    error_payload = obj
                    break
                if obj.get("usage"):
                    usage = obj["usage"]
                    if not plan.include_usage:
                        del obj["usage"]
                        if not obj.get("choices"):
                            continue
                obj["model"] = plan.requested_model
                obj.pop("timings", None)
                head = obj
                yield event(orjson.dumps(obj))
                delivered.add(obj)
                if delivered.first_token_at is None and delivered.chunks:
                    delivered.first_token_at = time.perf_counter()
                if time.monotonic() > deadline:
                    outcome = "timeout"
                    break
        except (asyncio.CancelledError, GeneratorExit):
            outcome = "client_disconnect"
            raise
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            log.warning("upstream %s broke mid-stream: %s", server.base_url, exc)
            outcome = "timeout" if isinstance(exc, TimeoutError) else "upstream_error"
        finally:
            response.close()
            self.registry.release(server)
            if outcome == "completed":
                self.registry.report_success(server)
            elif outcome == "upstream_error":
                self.registry.report_failure(server, "stream broke")
            if outcome == "client_disconnect":
                self.billing.spawn(
                    self.billing.settle_stream(admission, server, delivered, usage, outcome)
                )
        if outcome == "client_disconnect":
            return
        counts = await self.billing.settle_stream(admission, server, delivered, usage, outcome)
        if outcome != "completed":
            yield event(orjson.dumps(stream_error(outcome, error_payload)))
        elif usage is None and plan.include_usage and counts is not None:
            # The client asked for usage and upstream sent none: the counted figures.
            yield event(orjson.dumps(usage_chunk(head, plan.requested_model, counts)))
        yield DONE_EVENT

    async def drain(self) -> None:
        """Wait for disconnect settlements still in flight (shutdown)."""
        await self.billing.drain()


def _answer(raw: bytes) -> dict[str, Any] | None:
    """An upstream 200 body, if it is the JSON object of a completion or embeddings list."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("choices", data.get("data")), list):
        return None
    return data


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
    return body, len(raw)
