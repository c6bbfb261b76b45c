"""One JSON line per settled /v1 request (LOG_FORMAT=json): request id, organisation, key
prefix, model, status, outcome, latency, tokens and cost, on the `gptapi.access` logger.

Written where a request is settled (billed, or refused after its key was accepted), from the
usage record already built there. Off, it costs one attribute check per request.
"""

from __future__ import annotations

import logging

from gptapi.gateway.metering import UsageEntry

ACCESS = logging.getLogger("gptapi.access")


class AccessLog:
    __slots__ = ("enabled",)

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled

    def record(self, entry: UsageEntry, key_prefix: str) -> None:
        if not self.enabled:
            return
        ACCESS.info(
            "request",
            extra={
                "fields": {
                    "request_id": entry.request_id,
                    "organization_id": str(entry.organization_id),
                    "key_prefix": key_prefix,
                    "model": entry.model_name,
                    "endpoint": entry.endpoint,
                    "status": entry.status,
                    "outcome": entry.outcome,
                    "latency_ms": entry.latency_ms,
                    "prompt_tokens": entry.prompt_tokens,
                    "completion_tokens": entry.completion_tokens,
                    "images": entry.images,
                    "cost_nanos": entry.cost_nanos,
                    "upstream": entry.upstream,
                    "test_mode": entry.test_mode,
                }
            },
        )
