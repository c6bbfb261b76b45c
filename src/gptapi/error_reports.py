"""Server errors to Sentry when SENTRY_DSN is set, scrubbed before they leave.

Everything logged at ERROR (unhandled request errors, failing background loops, mail that
could not be sent) becomes a report through sentry-sdk's logging integration. Reports from a
request carry its `x-request-id` as the tag `request_id`, to find its log lines. Nothing that
could identify or authenticate anyone leaves: request bodies, cookies and credential headers
are dropped, values under secret-sounding keys are replaced, and API keys, tokens, signing
secrets, passwords and email addresses are cut out of every string (messages, exception
values, breadcrumbs). Local variables are never collected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.fastapi import FastApiIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration
from sentry_sdk.types import Event, Hint
from starlette.requests import Request

from gptapi import __version__
from gptapi.config import Settings

FILTERED = "[Filtered]"
_SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|api[_-]?key|authorization|cookie|session|csrf|signature|dsn|"
    r"card|email",
    re.IGNORECASE,
)
_SECRET_TEXT = re.compile(
    r"gpt_(live|test)_[A-Za-z0-9_-]+"  # our API keys
    r"|sk_[a-z]+_[A-Za-z0-9_-]+|whsec_[A-Za-z0-9_+/=-]+|rk_[a-z]+_[A-Za-z0-9]+"  # Stripe-like
    r"|SG\.[A-Za-z0-9_.-]+|re_[A-Za-z0-9_]{8,}"  # SendGrid, Resend
    r"|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"  # JWTs
    r"|(?i:bearer)\s+\S+"
    r"|(?i:(password|passwd|pwd|secret|token)\s*[=:]\s*)\S+"
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"  # email addresses
)
_KEPT_HEADERS = {"user-agent", "content-type", "content-length", "accept", "x-request-id"}


def scrub_text(text: str) -> str:
    return _SECRET_TEXT.sub(FILTERED, text)


def scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {
            key: FILTERED if isinstance(key, str) and _SECRET_KEY.search(key) else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


def scrub_event(event: Event, hint: Hint) -> Event:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {k: v for k, v in headers.items() if k.lower() in _KEPT_HEADERS}
        if request.get("query_string"):
            request["query_string"] = FILTERED
    event.pop("user", None)
    tags = event.get("tags")
    cleaned: Event = scrub(event)
    if tags is not None:
        cleaned["tags"] = tags  # request ids and our own tags are not secrets
    return cleaned


def scrub_breadcrumb(crumb: dict[str, Any], hint: Hint) -> dict[str, Any]:
    cleaned: dict[str, Any] = scrub(crumb)
    return cleaned


def start(settings: Settings) -> bool:
    """Start reporting when SENTRY_DSN is set; whether it started."""
    if not settings.sentry_dsn:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.environment,
        release=f"gptapi@{__version__}",
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        # Requests are reported by the app's own error handler (with the request id); the
        # framework integrations would report them a second time.
        disabled_integrations=[StarletteIntegration(), FastApiIntegration()],
    )
    return True


def stop() -> None:
    """Send what is queued, then stop reporting (the client is process-wide)."""
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=5)
        sentry_sdk.get_global_scope().set_client(None)


@contextmanager
def request_scope(request: Request) -> Iterator[None]:
    """Reports made inside carry the request's id and, scrubbed, its method, URL and headers."""
    with sentry_sdk.new_scope() as scope:
        request_id = request.scope.get("state", {}).get("request_id")
        if request_id:
            scope.set_tag("request_id", request_id)
        scope.add_event_processor(
            lambda event, _hint: {
                **event,
                "request": {
                    "method": request.method,
                    "url": str(request.url.replace(query="")),
                    "query_string": request.url.query,
                    "headers": dict(request.headers),
                },
            }
        )
        yield
