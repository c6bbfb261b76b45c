"""What the client is told when a request cannot be served: OpenAI-shaped errors for
upstream refusals and failures, rate limits and missing credit."""

from __future__ import annotations

import logging
from typing import Any

import orjson

from gptapi.gateway import errors
from gptapi.gateway.credits import InsufficientCredit
from gptapi.gateway.errors import OpenAIError
from gptapi.gateway.keys import KeyContext
from gptapi.gateway.limits import RateDecision
from gptapi.gateway.openai.plan import Plan
from gptapi.kit.money import format_usd

log = logging.getLogger(__name__)


def translate_error(status: int, raw: bytes, plan: Plan) -> OpenAIError:
    try:
        upstream = orjson.loads(raw).get("error") or {}
    except (orjson.JSONDecodeError, AttributeError):
        upstream = {}
    if isinstance(upstream, str):  # sd-server's shape: {"error": "prompt required"}
        upstream = {"message": upstream}
    elif not isinstance(upstream, dict):
        upstream = {}
    message = str(upstream.get("message") or "")
    kind = upstream.get("type")
    if kind == "exceed_context_size_error" or "context size" in message:
        n_ctx = upstream.get("n_ctx")
        n_prompt = upstream.get("n_prompt_tokens")
        detail = (
            f"This model's maximum context length is {n_ctx} tokens. However, your request "
            f"resulted in {n_prompt} tokens."
            if n_ctx and n_prompt
            else "This model's maximum context length was exceeded."
        )
        return OpenAIError(
            400,
            f"{detail} Please reduce the length of the input.",
            code="context_length_exceeded",
            param=_input_param(plan),
        )
    if "too large to process" in message:  # longer than the server's batch (embeddings)
        return OpenAIError(
            400,
            f"The input is too long for this model: {message}",
            code="context_length_exceeded",
            param=_input_param(plan),
        )
    if "input is not supported" in message:  # image or audio sent to a text-only model
        return OpenAIError(
            400,
            f"This model does not accept that content: {message}",
            code="unsupported_content",
            param=_input_param(plan),
        )
    if status in (400, 404, 422) and message:
        # An OpenAI-compatible server names the field it refused (llama-server does not).
        param, code = upstream.get("param"), upstream.get("code")
        return OpenAIError(
            400,
            message,
            code=code if isinstance(code, str) and code else "invalid_request",
            param=param if isinstance(param, str) else None,
        )
    log.error("upstream answered %d: %s", status, raw[:500])
    return errors.upstream_failed()


def stream_error(outcome: str, payload: dict[str, Any] | None) -> dict[str, Any]:
    if payload is not None:
        upstream = payload.get("error") or {}
        message = str(upstream.get("message") or "The model failed while generating.")
    elif outcome == "timeout":
        message = "The model took too long to respond."
    else:
        message = "The connection to the model was lost while generating."
    return {
        "error": {
            "message": message,
            "type": "server_error",
            "param": None,
            "code": "timeout" if outcome == "timeout" else "upstream_error",
        }
    }


def rate_limited(decision: RateDecision, plan: Plan, context: KeyContext) -> OpenAIError:
    unit = "requests per min (RPM)" if decision.exceeded == "requests" else "tokens per min (TPM)"
    if decision.never:
        message = (
            f"Request too large for {plan.requested_model} on {unit}: Limit {decision.limit}, "
            f"Requested {decision.requested}. Lower max_tokens or the input, or raise the key's "
            "limit."
        )
        headers = {"x-should-retry": "false"}
    else:
        message = (
            f"Rate limit reached for {plan.requested_model} on {unit}: Limit {decision.limit}, "
            f"Remaining {decision.remaining}, Requested {decision.requested}. Please try again "
            f"in {decision.retry_after:.3g}s."
        )
        headers = {
            "retry-after": str(max(1, int(decision.retry_after + 0.999))),
            "retry-after-ms": str(int(decision.retry_after * 1000)),
        }
    return OpenAIError(
        429,
        message,
        type=decision.exceeded or "requests",
        code="rate_limit_exceeded",
        headers={**decision.headers, **headers},
        refusal="rate_limited",
    )


def insufficient(exc: InsufficientCredit, plan: Plan, headers: dict[str, str]) -> OpenAIError:
    if plan.metered is not None:
        what = f"{plan.metered.amount} {plan.metered.unit.replace('_', ' ')}"
        lower = "send less input"
    elif plan.images:
        what = f"{plan.images} images at {format_usd(plan.image_price)} each"
        lower = "ask for fewer images"
    else:
        what = f"{plan.prompt_estimate} prompt tokens at most + {plan.max_output} completion tokens"
        # Embeddings and rerank generate nothing: only the input can be made smaller.
        lower = "lower max_tokens" if plan.max_output else "send less input"
    error = errors.insufficient_quota(
        "You exceeded your current quota, please check your plan and billing details. This "
        f"request may cost up to {format_usd(exc.required)} ({what}) and the available "
        f"balance is {format_usd(exc.available)}. Add credit, or {lower}."
    )
    error.headers.update(headers)
    return error


def _input_param(plan: Plan) -> str:
    params = {"chat.completions": "messages", "completions": "prompt", "rerank": "documents"}
    return params.get(plan.endpoint, "input")
