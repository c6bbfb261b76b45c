"""What a validated /v1 request turns into before it is admitted and forwarded."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from starlette.requests import Request
from starlette.responses import Response

from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.errors import invalid_request
from gptapi.gateway.openai.tools import ToolCalling

# Reads an upstream 200 body (raising `ValueError` for one the client cannot use) into what
# answers the client given the cost charged (nano-dollars) and the response headers.
Reply = Callable[[bytes], Callable[[int, dict[str, str]], Response]]


@dataclass(frozen=True, slots=True)
class Metered:
    """What an audio request is metered in, known before it runs: the characters it reads
    out, or the seconds of audio it hears. Held in full, charged in full once served."""

    unit: str  # "characters" | "audio_seconds" (the model kind's `UNITS`)
    amount: int


# Keyword-only, so that a surface answered whole (no stream, nothing generated token by
# token) names only what is its own.
@dataclass(slots=True, kw_only=True)
class Plan:
    # "chat.completions" | "completions" | "embeddings" | "rerank" | "responses" | "images"
    endpoint: str
    path: str  # upstream path
    model: CatalogModel
    requested_model: str
    stream: bool = False
    include_usage: bool = False  # the client asked for the usage chunk
    prompt_estimate: int = 0  # an upper bound on prompt tokens, for holds and TPM
    max_output: int = 0  # completion tokens reserved (max_tokens times n)
    payload: dict[str, Any]  # what goes upstream
    # Prompt text to count if usage never arrives (completions).
    prompt_texts: list[str] = field(default_factory=list)
    prompt_token_count: int = 0  # prompt tokens given as ids (known exactly)
    # Several generations (n > 1, or a list of prompts) go upstream as one single-choice
    # request each: llama-server's usage covers only one generation of a combined request,
    # and each generation takes a slot of its own. Each part: (payload, bills its prompt).
    parts: list[tuple[dict[str, Any], bool]] = field(default_factory=list)
    # Tool calls the gateway constrains itself: the answer is read back as `tool_calls`,
    # and a streamed request is answered from the finished completion.
    tools: ToolCalling | None = None
    # Applied to a non-streamed answer once it is billed (completions `echo`, `logprobs`).
    finish: Callable[[dict[str, Any]], None] | None = None
    # Applied to each streamed chunk before it is sent (completions `logprobs`).
    rewrite_chunk: Callable[[dict[str, Any]], None] | None = None
    dimensions: int | None = None  # embeddings shortened to this size
    # Whether an upstream 200 is an answer to this request (rerank: every document scored
    # once); one that is not is treated as an unreadable body: not billed, a 502.
    readable: Callable[[dict[str, Any]], bool] | None = None
    # A surface translated to another (Responses over chat): the billed upstream answer
    # made into the client's response (given the organisation and the response headers).
    present: Callable[[dict[str, Any], uuid.UUID, dict[str, str]], Awaitable[Response]] | None = (
        None
    )
    # A surface translated to another and streamed as it is generated: the chat chunks,
    # the billed usage and a failure, in the client's stream format.
    translate: StreamTranslator | None = None
    # An audio surface: what it is metered in instead of tokens, the body sent upstream as
    # it is (a multipart form) instead of `payload` as JSON, and the client's response made
    # from the upstream's 200 body (`Reply`).
    metered: Metered | None = None
    raw_body: bytes | None = None
    content_type: str = "application/json"
    reply: Reply | None = None
    # Billed per image, not per token: the images asked for, each at `image_price`
    # (nano-dollars, at the size asked). The hold is all of them; the charge, those returned.
    images: int = 0
    image_price: int = 0

    def max_cost(self) -> int:
        """What the request can cost at most: the credit held before it runs."""
        if self.metered is not None:
            return self.model.cost(self.metered.amount, 0)
        if self.images:
            return self.images * self.image_price
        return self.model.cost(self.prompt_estimate, self.max_output)


class StreamTranslator(Protocol):
    """Sends a streamed chat completion as another surface's stream (Responses events)."""

    def chunk(self, chunk: dict[str, Any]) -> list[bytes]: ...

    async def finish(self, usage: dict[str, Any], organization_id: uuid.UUID) -> list[bytes]: ...

    def failed(self, outcome: str, error: dict[str, Any] | None) -> list[bytes]: ...


class Surface(Protocol):
    endpoint: str
    path: str
    kind: str  # the model kind it serves (`MODEL_KINDS`)

    def plan(
        self, body: dict[str, Any], model: CatalogModel, *, body_size: int, output_cap: int
    ) -> Plan: ...


@runtime_checkable
class Preparing(Protocol):
    """A surface whose request depends on stored state: the body it stands for, read
    before it is planned (the same object when nothing was added)."""

    async def prepare(self, body: dict[str, Any], organization_id: uuid.UUID) -> dict[str, Any]: ...


@runtime_checkable
class Reading(Protocol):
    """A surface whose request is not a JSON body (a multipart form): its fields as a
    dict, and the body's size."""

    async def read(self, request: Request) -> tuple[dict[str, Any], int]: ...


# Chat templates add role markers and, for some models, a default system prompt; this
# bounds what they add on top of the request's own bytes.
TEMPLATE_OVERHEAD_TOKENS = 64


def resolve_max_tokens(requested: int | None, cap: int, param: str) -> int:
    if requested is None:
        return cap
    if requested > cap:
        raise invalid_request(
            f"max_tokens is too large: {requested}. This model supports at most {cap} "
            f"completion tokens, whereas you provided {requested}.",
            param=param,
            code="invalid_value",
        )
    return requested


def split_prompts(
    prompt: str | list[str] | list[int] | list[list[int]],
) -> tuple[list[str], int, int]:
    """(texts, token ids given, number of prompts)."""
    if isinstance(prompt, str):
        return [prompt], 0, 1
    if all(isinstance(p, str) for p in prompt):
        return [p for p in prompt if isinstance(p, str)], 0, len(prompt)
    if all(isinstance(p, int) for p in prompt):
        return [], len(prompt), 1
    arrays = [p for p in prompt if isinstance(p, list)]
    return [], sum(len(a) for a in arrays), len(arrays)


def upstream_payload(body: dict[str, Any], max_tokens: int, *, stream: bool) -> dict[str, Any]:
    """The client's body with the capped `max_tokens` (always sent, so output never exceeds
    the hold) and, on streams, upstream usage always requested."""
    payload = dict(body)
    payload.pop("max_completion_tokens", None)
    payload["max_tokens"] = max_tokens
    if stream:
        payload["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    return payload
