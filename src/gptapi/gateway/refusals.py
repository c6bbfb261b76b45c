"""Refused requests in the request log.

A request refused after its key was accepted (a rate limit, no credit, the key's spend cap
or model list) is recorded as a usage row at zero cost, with the reason as its outcome: the
key's "last used" moves, so the log must show what happened. Refusals are recorded at most
`per_minute` times per key and minute; past that a flood of refused requests would cost as
many writes as served ones, and the first ones already tell the story.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from gptapi.gateway.access_log import AccessLog
from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.errors import OpenAIError
from gptapi.gateway.keys import KeyContext
from gptapi.gateway.metering import UsageEntry, UsageWriter

REFUSALS_PER_KEY_PER_MINUTE = 60


class RefusalLog:
    def __init__(
        self,
        writer: UsageWriter,
        *,
        per_minute: int = REFUSALS_PER_KEY_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
        access: AccessLog | None = None,
    ) -> None:
        self._writer = writer
        self._access = access or AccessLog()
        self._per_minute = per_minute
        self._clock = clock
        self._minute = -1
        self._counts: dict[uuid.UUID, int] = {}

    def note(
        self,
        error: OpenAIError,
        context: KeyContext,
        model: CatalogModel,
        endpoint: str,
        request_id: str,
        started: float,
    ) -> None:
        """Record `error` if it is a refusal and the key is within its allowance (the
        access log, when on, gets every refusal)."""
        if error.refusal is None:
            return
        entry = UsageEntry(
            request_id=request_id,
            organization_id=context.organization_id,
            api_key_id=context.key_id,
            user_id=context.user_id,
            model_id=model.id,
            model_name=model.internal_name,
            endpoint=endpoint,
            prompt_tokens=0,
            completion_tokens=0,
            cost_nanos=0,
            status=error.status,
            outcome=error.refusal,
            metered_by="refused",
            latency_ms=int((time.perf_counter() - started) * 1000),
            upstream="",
            created_at=datetime.now(UTC),
            test_mode=context.test_mode,
        )
        self._access.record(entry, context.key_prefix)
        if self._allowed(context.key_id):
            self._writer.submit(entry)

    def _allowed(self, key_id: uuid.UUID) -> bool:
        minute = int(self._clock() // 60)
        if minute != self._minute:
            self._minute, self._counts = minute, {}
        count = self._counts.get(key_id, 0)
        if count >= self._per_minute:
            return False
        self._counts[key_id] = count + 1
        return True
