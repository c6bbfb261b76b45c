"""Settling admitted requests: the hold becomes the exact cost, the rate-limit tokens not
used are refunded, and one usage record (with its ledger entry) is written per request.
A response is released once its record has committed, within a bound."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gptapi.gateway.access_log import AccessLog
from gptapi.gateway.credits import CreditStore, Hold
from gptapi.gateway.keys import KeyContext
from gptapi.gateway.limits import RateLimiter
from gptapi.gateway.metering import UsageEntry, UsageWriter
from gptapi.gateway.metrics import OVER_HOLD, TIME_TO_FIRST_TOKEN, observe_request
from gptapi.gateway.openai.counting import TokenCounter, reported_usage
from gptapi.gateway.openai.plan import Plan
from gptapi.gateway.upstream.registry import UpstreamRegistry, UpstreamServer
from gptapi.kit.money import nanos_to_decimal

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
    # `owned`: something has taken charge of settling the request (set synchronously, so the
    # backstop never settles twice); `settled`: its hold is settled and its record submitted.
    owned: bool = False
    settled: bool = False
    # (prompt, completion) of each generation of a several-generation request that ran to
    # completion: if the request fails as a whole, those still ran and are billed.
    ran: list[tuple[int, int]] = field(default_factory=list)


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
        accounts: CreditStore,
        limiter: RateLimiter,
        writer: UsageWriter,
        counter: TokenCounter,
        registry: UpstreamRegistry,
        access: AccessLog | None = None,
    ) -> None:
        self.accounts = accounts
        self.limiter = limiter
        self.writer = writer
        self.counter = counter
        self.registry = registry
        self.access = access or AccessLog()
        self._background: set[asyncio.Task[None]] = set()

    async def settle_stream(
        self,
        admission: Admission,
        server: UpstreamServer,
        delivered: Delivered,
        usage: dict[str, Any] | None,
        outcome: str,
    ) -> dict[str, Any]:
        """Bill the stream; the usage it was billed for, with its cost (`priced`)."""
        if delivered.first_token_at is not None:
            TIME_TO_FIRST_TOKEN.labels(admission.plan.requested_model).observe(
                delivered.first_token_at - admission.started
            )
        reported = reported_usage(usage)
        if usage is not None and reported is not None:
            cost = await self.bill(admission, *reported, 200, outcome, "upstream", server)
            return priced(usage, cost)
        return await self.bill_counted(admission, server, delivered, 200, outcome)

    async def bill_counted(
        self,
        admission: Admission,
        server: UpstreamServer | None,
        delivered: Delivered,
        status: int,
        outcome: str,
    ) -> dict[str, Any]:
        """Bill from counted tokens when upstream usage never arrived: never a silent $0.
        Returns the counted usage with its cost."""
        counts = await self.counter.count(
            admission.plan, server, delivered.joined(), delivered.chunks
        )
        cost = await self.bill(
            admission, counts.prompt, counts.completion, status, outcome, counts.source, server
        )
        return priced(counts.usage(), cost)

    async def finish_unbilled(
        self, admission: Admission, status: int, outcome: str, server: UpstreamServer | None
    ) -> None:
        """The request failed before any output reached the client: it is recorded, and
        charged only for the generations that ran to completion (several-generation
        requests), never for the rest."""
        prompt = sum(p for p, _ in admission.ran)
        completion = sum(c for _, c in admission.ran)
        await self.bill(admission, prompt, completion, status, outcome, "upstream", server)

    async def bill_metered(self, admission: Admission, server: UpstreamServer) -> int:
        """Charge an audio request that was served for what it was metered in."""
        units = admission.plan.metered.amount if admission.plan.metered else 0
        return await self.bill(admission, 0, 0, 200, "completed", "upstream", server, units)

    async def bill(
        self,
        admission: Admission,
        prompt: int,
        completion: int,
        status: int,
        outcome: str,
        metered_by: str,
        server: UpstreamServer | None,
        units: int = 0,
        images: int = 0,
    ) -> int:
        """Settle the hold, refund unused rate-limit tokens, record the request; the cost
        charged, in nano-dollars (0 in test mode). `units`: what an audio request is
        charged for in its `plan.metered` unit (0 when it was not served). An image request
        is billed for `images`, the images it returned."""
        plan, context = admission.plan, admission.context
        admission.owned = admission.settled = True
        metered = plan.metered
        # `plan.model` is the catalog entry as it was when the request arrived: the price in
        # force then, whatever changed while it ran (and the image price of the size asked).
        if context.test_mode:
            cost = 0
        elif metered:
            cost = plan.model.cost(units, 0)
        elif plan.images:
            cost = images * plan.image_price
        else:
            cost = plan.model.cost(prompt, completion)
        # A request is charged at most what it reserved: the hold bounds what it can cost
        # (max_tokens is always sent), so usage implying more is the server's error or
        # lie, and charging it would take credit the organisation never had.
        over_hold = max(0, cost - admission.hold.amount)
        if over_hold:
            cost = admission.hold.amount
            self._over_hold(admission, server, prompt, completion, over_hold, metered_by)
        if not context.test_mode:
            await self.accounts.settle(admission.hold, cost)
        await self.limiter.refund(
            context.limiter_key,
            context.tpm_limit,
            admission.reserved_tokens - prompt - completion,
        )
        elapsed = time.perf_counter() - admission.started
        model = plan.requested_model
        observe_request(plan.endpoint, model, status, elapsed, prompt, completion, cost)
        entry = UsageEntry(
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
            test_mode=context.test_mode,
            hold_nanos=admission.hold.amount,
            over_hold_nanos=over_hold,
            hold_id=admission.hold.id,
            characters=units if metered and metered.unit == "characters" else 0,
            audio_seconds=units if metered and metered.unit == "audio_seconds" else 0,
            images=images,
        )
        committed = self.writer.submit(entry)
        self.access.record(entry, context.key_prefix)
        # The response is released once it is billed (committed), within a bound.
        # (A timeout cancels only this wait's future: the writer skips futures already done.)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(COMMIT_WAIT_SECONDS):
                await committed
        return cost

    def _over_hold(
        self,
        admission: Admission,
        server: UpstreamServer | None,
        prompt: int,
        completion: int,
        over_hold: int,
        metered_by: str,
    ) -> None:
        upstream = server.base_url if server else ""
        log.warning(
            "request %s: usage from %s (%d prompt + %d completion tokens) costs %d n$ above "
            "its hold of %d n$; charged the hold, the excess is recorded as over_hold_nanos",
            admission.request_id,
            upstream or "no server",
            prompt,
            completion,
            over_hold,
            admission.hold.amount,
        )
        OVER_HOLD.labels(admission.plan.requested_model, upstream).inc(over_hold)
        if server is not None and metered_by == "upstream":  # its own figures, not our count
            self.registry.mark_suspect(
                server,
                f"request {admission.request_id} reported usage {over_hold} n$ over its hold",
            )

    async def backstop(self, admission: Admission, status: int, outcome: str) -> None:
        """The request is leaving the pipeline by a way no path settled (an unexpected
        exception): its hold is released and it is recorded, unbilled, like any failure
        before output. Every admitted request ends here if nowhere else."""
        if admission.owned:
            return
        log.error("request %s left unsettled (%s): hold released", admission.request_id, outcome)
        await self.finish_unbilled(admission, status, outcome, admission.sent_to)

    def abandon(self, admission: Admission, status: int) -> None:
        """`backstop` where nothing can be awaited (a generator's `finally`)."""
        if not admission.owned:
            log.error("request %s left unsettled: hold released", admission.request_id)
            self.spawn(admission, None, status)

    def spawn(
        self,
        admission: Admission,
        coroutine: Coroutine[Any, Any, object] | None,
        status: int = 500,
    ) -> None:
        """Settle in the background (the client is gone, or the response already sent); if
        `coroutine` fails before settling, the request is recorded unbilled with `status`."""
        admission.owned = True

        async def run() -> None:
            try:
                if coroutine is not None:
                    await coroutine
            except Exception:
                log.exception("settling request %s failed", admission.request_id)
            if not admission.settled:
                await self.finish_unbilled(admission, status, "internal_error", admission.sent_to)

        task = asyncio.get_running_loop().create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for settlements still running in the background (shutdown)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)


def priced(usage: dict[str, Any], cost: int) -> dict[str, Any]:
    """`usage` with the exact charge of the request, as the ledger records it: `cost` in
    dollars (a string, so no float rounds it) and `cost_nanos` in nano-dollars."""
    return {**usage, "cost": f"{nanos_to_decimal(cost):.9f}", "cost_nanos": cost}


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
