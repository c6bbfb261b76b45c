"""OpenAI's error envelope: `{"error": {"message", "type", "param", "code"}}`.

Every /v1 failure is an `OpenAIError`; the exception handler renders it with its status and
headers. The status decides what the official SDKs raise and whether they retry, so each
constructor below picks status, type and code as OpenAI does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


class OpenAIError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
        refusal: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = dict(headers or {})
        # Why an accepted key's request was turned away (rate_limited, insufficient_quota,
        # spend_cap_reached, model_not_allowed): such requests go in the request log.
        self.refusal = refusal

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def json_bytes(self) -> bytes:
        return orjson.dumps(self.body())

    def response(self) -> Response:
        return Response(self.json_bytes(), self.status, self.headers, "application/json")


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None
) -> OpenAIError:
    return OpenAIError(400, message, param=param, code=code)


def unknown_url(method: str, path: str) -> OpenAIError:
    # OpenAI answers any path (or method) it does not serve under /v1 like this, whatever
    # the method, so SDKs raise `NotFoundError` rather than a generic status error.
    return OpenAIError(404, f"Invalid URL ({method} {path})", code="unknown_url")


def missing_api_key() -> OpenAIError:
    return OpenAIError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        code="missing_api_key",
    )


def invalid_api_key(token: str) -> OpenAIError:
    shown = token[:12] + "…" if len(token) > 12 else "…"
    return OpenAIError(401, f"Incorrect API key provided: {shown}", code="invalid_api_key")


def inference_not_allowed() -> OpenAIError:
    return OpenAIError(
        403,
        "This API key lacks the inference scope: it is for the /api routes its scopes name. "
        "Use a key with the inference scope for /v1.",
        code="insufficient_scope",
    )


def model_not_found(model: str) -> OpenAIError:
    return OpenAIError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
        param="model",
    )


def model_not_allowed(model: str) -> OpenAIError:
    # OpenAI answers a key restricted away from a model with 403 and `model_not_found`.
    return OpenAIError(
        403,
        f"This API key does not have access to model `{model}`. Its allowed models are set "
        "in the console.",
        code="model_not_found",
        param="model",
        refusal="model_not_allowed",
    )


def key_spend_cap_reached() -> OpenAIError:
    return insufficient_quota(
        "This API key has reached its monthly spend cap. Raise the cap in the console or use "
        "another key; the cap resets at the start of next month (UTC).",
        refusal="spend_cap_reached",
    )


def insufficient_quota(message: str, refusal: str = "insufficient_quota") -> OpenAIError:
    # The SDK retries 429 unless told not to; running out of credit is not transient.
    return OpenAIError(
        429,
        message,
        type="insufficient_quota",
        code="insufficient_quota",
        headers={"x-should-retry": "false"},
        refusal=refusal,
    )


def overloaded(model: str, retry_after: int = 1) -> OpenAIError:
    return OpenAIError(
        503,
        f"The model `{model}` is currently overloaded. Please try again later.",
        type="server_error",
        code="model_overloaded",
        headers={"retry-after": str(retry_after)},
    )


def queue_share_exceeded(model: str, retry_after: int = 1) -> OpenAIError:
    # A rate limit of the caller's own making (its requests already fill its share of the
    # queue), not an outage: a 429 the SDKs retry after the pause given.
    return OpenAIError(
        429,
        f"Your organisation already has as many requests waiting for `{model}` as it may "
        "queue. Wait for some to finish, then retry.",
        type="requests",
        code="rate_limit_exceeded",
        headers={"retry-after": str(retry_after)},
    )


def cold_start(model: str, retry_after: int) -> OpenAIError:
    # 503 with Retry-After: the SDKs retry it by themselves, after that long.
    return OpenAIError(
        503,
        f"The deployment `{model}` is starting from zero (a cold start takes about "
        f"{retry_after} s). Retry after the time in Retry-After.",
        type="server_error",
        code="deployment_starting",
        headers={"retry-after": str(retry_after)},
    )


def credit_unavailable() -> OpenAIError:
    # The shared credit store (Redis) did not answer: retryable, and never served on credit.
    return OpenAIError(
        503,
        "Your credit could not be checked right now. Please try again shortly.",
        type="server_error",
        code="service_unavailable",
        headers={"retry-after": "1"},
    )


def key_check_unavailable() -> OpenAIError:
    # The database did not answer for a key this process has not cached: retryable.
    return OpenAIError(
        503,
        "Your API key could not be checked right now. Please try again shortly.",
        type="server_error",
        code="service_unavailable",
        headers={"retry-after": "1"},
    )


def upstream_unavailable(model: str) -> OpenAIError:
    return OpenAIError(
        503,
        f"No server for `{model}` is available right now. Please try again later.",
        type="server_error",
        code="service_unavailable",
        headers={"retry-after": "2"},
    )


def upstream_timeout() -> OpenAIError:
    return OpenAIError(
        504, "The model took too long to respond.", type="server_error", code="timeout"
    )


def upstream_failed() -> OpenAIError:
    return OpenAIError(
        502,
        "The server had an error while processing your request.",
        type="server_error",
        code="upstream_error",
    )


def internal_error() -> OpenAIError:
    return OpenAIError(
        500,
        "The server had an error while processing your request.",
        type="server_error",
        code="internal_error",
    )
