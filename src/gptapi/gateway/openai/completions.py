"""POST /v1/completions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gptapi.gateway.catalog import CatalogModel
from gptapi.gateway.errors import invalid_request
from gptapi.gateway.openai.fanout import split_generations
from gptapi.gateway.openai.legacy_logprobs import legacy_logprobs, upstream_top
from gptapi.gateway.openai.plan import (
    TEMPLATE_OVERHEAD_TOKENS,
    Plan,
    resolve_max_tokens,
    split_prompts,
    upstream_payload,
)
from gptapi.gateway.openai.protocol import CompletionRequest, parse


class CompletionSurface:
    endpoint = "completions"
    path = "/v1/completions"
    kind = "chat"

    def plan(
        self, body: dict[str, Any], model: CatalogModel, *, body_size: int, output_cap: int
    ) -> Plan:
        request = parse(CompletionRequest, body)
        if request.suffix:
            # llama-server fills in the middle only on /infill, with models trained for it.
            raise invalid_request(
                "'suffix' is not supported: these models do not complete text between a "
                "prompt and a suffix.",
                param="suffix",
                code="unsupported_parameter",
            )
        max_tokens = resolve_max_tokens(request.max_tokens, output_cap, "max_tokens")
        payload = upstream_payload(body, max_tokens, stream=request.stream)
        payload.pop("suffix", None)
        echo = _echo(request, payload)
        logprobs = legacy_logprobs(request.logprobs)
        if request.logprobs is not None:
            payload["logprobs"] = upstream_top(request.logprobs)
        texts, token_count, prompts = split_prompts(request.prompt)
        return Plan(
            endpoint=self.endpoint,
            path=self.path,
            model=model,
            requested_model=request.model,
            stream=request.stream,
            include_usage=bool(request.stream_options and request.stream_options.include_usage),
            prompt_estimate=body_size + TEMPLATE_OVERHEAD_TOKENS,
            max_output=max_tokens * request.n * prompts,
            payload=payload,
            prompt_texts=texts,
            prompt_token_count=token_count,
            parts=split_generations(payload, _prompt_list(request.prompt), request.n),
            finish=_both(echo, logprobs),
            rewrite_chunk=logprobs,
        )


def _echo(
    request: CompletionRequest, payload: dict[str, Any]
) -> Callable[[dict[str, Any]], None] | None:
    """`echo`: each choice's text follows its prompt, as OpenAI returns it. Supported for
    text prompts on non-streamed requests without `logprobs`; otherwise a 400."""
    payload.pop("echo", None)
    if not request.echo:
        return None
    prompts = _prompt_list(request.prompt)
    refusal = None
    if request.stream:
        refusal = "streaming"
    elif request.logprobs is not None:
        refusal = "'logprobs'"
    elif not all(isinstance(p, str) for p in prompts):
        refusal = "token-id prompts"
    if refusal is not None:
        raise invalid_request(
            f"'echo' is not supported with {refusal}; it is supported for text prompts "
            "without streaming or 'logprobs'.",
            param="echo",
            code="unsupported_parameter",
        )
    texts = [str(p) for p in prompts]
    n = request.n

    def echo(data: dict[str, Any]) -> None:
        # Choices come prompt by prompt, `n` each (see `split_generations`).
        for position, choice in enumerate(data.get("choices") or ()):
            choice["text"] = texts[position // n] + (choice.get("text") or "")

    return echo


Rewrite = Callable[[dict[str, Any]], None]


def _both(*steps: Rewrite | None) -> Rewrite | None:
    present = [step for step in steps if step is not None]
    if not present:
        return None

    def run(data: dict[str, Any]) -> None:
        for step in present:
            step(data)

    return run


def _prompt_list(prompt: str | list[str] | list[int] | list[list[int]]) -> list[Any]:
    """The request's prompts one by one (a flat token array is one prompt)."""
    if isinstance(prompt, str) or all(isinstance(p, int) for p in prompt):
        return [prompt]
    return list(prompt)
