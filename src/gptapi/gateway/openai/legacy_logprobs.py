"""`/v1/completions` `logprobs` in the legacy shape OpenAI's completions answer with.

llama-server answers a completion's `logprobs` in the chat shape (`{"content": [{token,
logprob, top_logprobs: [...]}]}`); clients of the legacy endpoint read `tokens`,
`token_logprobs`, `top_logprobs` (one `{token: logprob}` map per token, the sampled token
always included, so up to `logprobs + 1` entries) and `text_offset` (each token's character
offset in the choice's text).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def upstream_top(requested: int) -> int:
    """llama-server reports nothing for 0; the sampled token's own figure is in its top 1."""
    return max(requested, 1)


class LegacyLogprobs:
    """Rewrites each choice's logprobs, chunk after chunk for a stream (text offsets run on
    per choice), or once for a whole answer."""

    def __init__(self, requested: int) -> None:
        self.requested = requested
        self._offsets: dict[int, int] = {}

    def __call__(self, data: dict[str, Any]) -> None:
        for choice in data.get("choices") or ():
            index = int(choice.get("index") or 0)
            choice["logprobs"] = self._convert(choice.get("logprobs"), index)

    def _convert(self, logprobs: Any, index: int) -> dict[str, Any] | None:
        if not isinstance(logprobs, dict) or not isinstance(logprobs.get("content"), list):
            return None
        offset = self._offsets.get(index, 0)
        tokens: list[str] = []
        token_logprobs: list[float] = []
        top: list[dict[str, float]] = []
        text_offset: list[int] = []
        for entry in logprobs["content"]:
            token = str(entry.get("token", ""))
            tokens.append(token)
            token_logprobs.append(float(entry.get("logprob", 0.0)))
            alternatives = entry.get("top_logprobs") or []
            chosen = {a["token"]: float(a["logprob"]) for a in alternatives[: self.requested]}
            chosen.setdefault(token, token_logprobs[-1])
            top.append(chosen)
            text_offset.append(offset)
            offset += len(token)
        self._offsets[index] = offset
        return {
            "tokens": tokens,
            "token_logprobs": token_logprobs,
            "top_logprobs": top,
            "text_offset": text_offset,
        }


def legacy_logprobs(requested: int | None) -> Callable[[dict[str, Any]], None] | None:
    return None if requested is None else LegacyLogprobs(requested)
