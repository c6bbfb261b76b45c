"""Settling admitted requests: the hold becomes the exact cost, the rate-limit tokens not
used are refunded, and one usage record (with its ledger entry) is written per request.
A response is released once its record has committed, within a bound."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gptapi.gateway.credits import CreditAccounts, Hold
from gptapi.gateway.keys import KeyContext
from gptapi.gateway.limits import RateLimiter
from gptapi.gateway.metering import UsageEntry, UsageWriter
from gptapi.gateway.metrics import TIME_TO_FIRST_TOKEN, observe_request
from gptapi.gateway.openai.counting import Counts, TokenCounter, reported_usage
from gptapi.gateway.openai.plan import Plan
from gptapi.gateway.upstream.registry import UpstreamServer

log = logging.getLogger(__name__)

# How long a response waits for its usage batch to commit before it is sent anyway (the
# record stays queued and the cost stays held against the balance until it commits).
COMMIT_WAIT_SECONDS = 5.0


@dataclass(slots=True)
class Admission:
    plan: Plan
    context: KeyContext
    hold: Hold
    headers: dict[str, str]
    request_id: str
    started: float
    reserved_tokens: int
    # The server the request was last sent to; None while it waits for a slot.
    sent_to: UpstreamServer | None = None


@dataclass(slots=True)
class Delivered:
    """What a stream has put on the wire so far."""

    texts: dict[int, list[str]] = field(default_factory=dict)
    chunks: int = 0
    first_token_at: float | None = None

    def add(self, obj: dict[str, Any]) -> None:
        for choice in obj.get("choices") or ():
            text = choice_text(choice)
            if text:
                self.texts.setdefault(choice.get("index", 0), []).append(text)
                self.chunks += 1

    def joined(self) -> list[str]:
        return ["".join(parts) for _, parts in sorted(self.texts.items())]


class Billing:
    def __init__(
        self,
        *,
        accounts: CreditAccounts,
        limiter: RateLimiter,
        writer: UsageWriter,
        counter: TokenCounter,
    ) -> None:
        self.accounts = accounts
        self.limiter = limiter
        self.writer = writer
        self.counter = counter
        self._background: set[asyncio.Task[None]] = set()

    async def settle_stream(
        self,
        admission: Admission,
        server: UpstreamServer,
        delivered: Delivered,
        usage: dict[str, Any] | None,
        outcome: str,
    ) -> Counts | None:
        """Bill the stream; the counted figures when upstream sent no usage."""
        if delivered.first_token_at is not None:
            TIME_TO_FIRST_TOKEN.labels(admission.plan.requested_model).observe(
                delivered.first_token_at - admission.started
            )
        reported = reported_usage(usage)
        if reported is not None:
            await self.bill(admission, *reported, 200, outcome, "upstream", server)
            return None
        return await self.bill_counted(admission, server, delivered, 200, outcome)

    async def bill_counted(
        self,
        admission: Admission,
        server: UpstreamServer | None,
        delivered: Delivered,
        status: int,
        outcome: str,
    ) -> Counts:
        """Bill from counted tokens when upstream usage never arrived: never a silent $0."""
        counts = await self.counter.count(
            admission.plan, server, delivered.joined(), delivered.chunks
        )
        await self.bill(
            admission, counts.prompt, counts.completion, status, outcome, counts.source, server
        )
        return counts

    async def finish_unbilled(
        self, admission: Admission, status: int, outcome: str, server: UpstreamServer | None
    ) -> None:
        """The request failed before any output: nothing is charged, but it is recorded."""
        await self.bill(admission, 0, 0, status, outcome, "upstream", server)

    async def bill(
        self,
        admission: Admission,
        prompt: int,
        completion: int,
        status: int,
        outcome: str,
        metered_by: str,
        server: UpstreamServer | None,
    ) -> None:
        plan, context = admission.plan, admission.context
        # `plan.model` is the catalog entry as it was when the request arrived: the price in
        # force then, whatever changed while it ran.
        cost = plan.model.cost(prompt, completion)
        if cost > admission.hold.amount:
            log.warning(
                "request %s cost %d above its hold %d",
                admission.request_id,
                cost,
                admission.hold.amount,
            )
        self.accounts.settle(admission.hold, cost)
        await self.limiter.refund(
            context.limiter_key,
            context.tpm_limit,
            admission.reserved_tokens - prompt - completion,
        )
        elapsed = time.perf_counter() - admission.started
        model = plan.requested_model
        observe_request(plan.endpoint, model, status, elapsed, prompt, completion, cost)
        committed = self.writer.submit(
            UsageEntry(
                request_id=admission.request_id,
                organization_id=context.organization_id,
                api_key_id=context.key_id,
                user_id=context.user_id,
                model_id=plan.model.id,
                model_name=model,
                endpoint=plan.endpoint,
                prompt_tokens=prompt,
                completion_tokens=completion,
                cost_nanos=cost,
                status=status,
                outcome=outcome,
                metered_by=metered_by,
                latency_ms=int(elapsed * 1000),
                upstream=server.base_url if server else "",
                created_at=datetime.now(UTC),
            )
        )
        # The response is released once it is billed (committed), within a bound.
        # (A timeout cancels only this wait's future: the writer skips futures already done.)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(COMMIT_WAIT_SECONDS):
                await committed

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for settlements still running in the background (shutdown)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)


def choice_text(choice: dict[str, Any]) -> str:
    if "text" in choice:
        return choice.get("text") or ""
    delta = choice.get("delta") or choice.get("message") or {}
    text = delta.get("content") or ""
    for key in ("reasoning_content",):
        text += delta.get(key) or ""
    for call in delta.get("tool_calls") or ():
        function = call.get("function") or {}
        text += (function.get("name") or "") + (function.get("arguments") or "")
    return text
