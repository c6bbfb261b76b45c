"""Counting tokens when upstream usage never arrived (client disconnect, upstream death).

The prompt is counted by the model's own tokenizer on a healthy server of the same pool
(`/v1/chat/completions/input_tokens`, or `/apply-template` + `/tokenize` on older builds),
and so is the delivered text. If no server can count, the bytes-based bounds are used and
the record says `estimated`: a request that produced output is never billed $0.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from gptapi.gateway.openai.plan import Plan
from gptapi.gateway.upstream.client import UpstreamClient
from gptapi.gateway.upstream.registry import UpstreamRegistry, UpstreamServer

log = logging.getLogger(__name__)

COUNT_TIMEOUT = 5.0


class CountFailed(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Counts:
    prompt: int
    completion: int
    source: str  # "counted" | "estimated"

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt,
            "completion_tokens": self.completion,
            "total_tokens": self.prompt + self.completion,
        }


class TokenCounter:
    def __init__(self, client: UpstreamClient, registry: UpstreamRegistry) -> None:
        self._client = client
        self._registry = registry

    async def count(
        self, plan: Plan, preferred: UpstreamServer | None, delivered: list[str], chunks: int
    ) -> Counts:
        for server in self._servers(plan, preferred):
            try:
                prompt = await self._prompt(server, plan)
                completion = 0
                for text in delivered:
                    completion += await self._tokenize(server, text, add_special=False)
                return Counts(prompt, completion, "counted")
            except (CountFailed, OSError) as exc:
                log.warning("token count on %s failed: %s", server.base_url, exc)
        # About four bytes a token for the prompt; content chunks from llama-server carry
        # one token each.
        return Counts(max(1, plan.prompt_estimate // 4), chunks, "estimated")

    def _servers(self, plan: Plan, preferred: UpstreamServer | None) -> list[UpstreamServer]:
        pool = self._registry.pool(plan.model.internal_name)
        others = [s for s in (pool.servers if pool else []) if s.healthy and s is not preferred]
        return ([preferred] if preferred is not None and preferred.healthy else []) + others

    async def _prompt(self, server: UpstreamServer, plan: Plan) -> int:
        if plan.path != "/v1/chat/completions":  # chat, or a surface translated to it
            total = plan.prompt_token_count
            for text in plan.prompt_texts:
                total += await self._tokenize(server, text, add_special=True)
            return total
        payload = {k: v for k, v in plan.payload.items() if k not in ("stream", "stream_options")}
        status, body = await self._client.post_json(
            server, "/v1/chat/completions/input_tokens", payload, COUNT_TIMEOUT
        )
        if status == 200 and isinstance(body, dict) and isinstance(body.get("input_tokens"), int):
            return int(body["input_tokens"])
        status, body = await self._client.post_json(
            server, "/apply-template", payload, COUNT_TIMEOUT
        )
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            raise CountFailed(f"/apply-template answered {status}")
        return await self._tokenize(server, body["prompt"], add_special=True)

    async def _tokenize(self, server: UpstreamServer, text: str, *, add_special: bool) -> int:
        payload: dict[str, Any] = {"content": text, "add_special": add_special}
        status, body = await self._client.post_json(server, "/tokenize", payload, COUNT_TIMEOUT)
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("tokens"), list):
            raise CountFailed(f"/tokenize answered {status}")
        return len(body["tokens"])


def reported_usage(usage: object) -> tuple[int, int] | None:
    """(prompt, completion) from an upstream `usage` object, or None if it is not one."""
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens", 0)
    if not isinstance(prompt, int) or not isinstance(completion, int | None):
        return None
    return prompt, completion or 0


def usage_chunk(head: dict[str, Any], model: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": head.get("id"),
        "object": head.get("object", "chat.completion.chunk"),
        "created": head.get("created"),
        "model": model,
        "choices": [],
        "usage": usage,
    }
