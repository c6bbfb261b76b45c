"""Resend and SendGrid on loopback, speaking their wire formats.

Resend: `POST /emails` with `Authorization: Bearer re_…`, a JSON body (`from`, `to` as a string
or a list of at most 50, `subject`, `text` and/or `html`, optional `headers`), `Idempotency-Key`
replaying the first answer; answers `{"id": …}`, errors `{"statusCode", "name", "message"}`.
SendGrid: `POST /v3/mail/send` with `Authorization: Bearer SG.…`, `personalizations[].to[]`,
`from`, `subject`, `content[]` (text/plain before text/html); answers 202 with an empty body
and `X-Message-Id`, errors `{"errors": [{"message", "field", "help"}]}`.

`fail_next(status, retry_after=…)` queues failures (429 rate limits, 5xx) answered before the
next accepted mail; `sent` is what was accepted, `attempts` every request that arrived.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.threads import LoopbackDouble

RESEND_KEY = "re_double_key"
SENDGRID_KEY = "SG.double.key"


@dataclass
class Failure:
    status: int
    retry_after: str | None = None


@dataclass
class Delivered:
    to: list[str]
    subject: str
    text: str
    html: str | None
    headers: dict[str, str]
    sender: str


@dataclass
class MailApiDouble:
    sent: list[Delivered] = field(default_factory=list)
    attempts: int = 0
    failures: list[Failure] = field(default_factory=list)
    idempotent: dict[str, dict[str, Any]] = field(default_factory=dict)

    def fail_next(self, status: int, *, retry_after: str | None = None) -> None:
        self.failures.append(Failure(status, retry_after))

    def _failure(self) -> Failure | None:
        return self.failures.pop(0) if self.failures else None


class ResendDouble(LoopbackDouble):
    def __init__(self) -> None:
        self.state = MailApiDouble()
        super().__init__(Starlette(routes=[Route("/emails", self.emails, methods=["POST"])]))

    @staticmethod
    def error(status: int, name: str, message: str, **headers: str) -> JSONResponse:
        body = {"statusCode": status, "name": name, "message": message}
        return JSONResponse(body, status, headers=headers)

    async def emails(self, request: Request) -> Response:
        state = self.state
        state.attempts += 1
        auth = request.headers.get("authorization")
        if auth is None:
            return self.error(401, "missing_api_key", "Missing API key in the authorization header")
        if auth != f"Bearer {RESEND_KEY}":
            return self.error(403, "invalid_api_key", "API key is invalid")
        key = request.headers.get("idempotency-key")
        if key is not None and key in state.idempotent:
            return JSONResponse(state.idempotent[key])
        failure = state._failure()
        if failure is not None:
            headers = {"retry-after": failure.retry_after} if failure.retry_after else {}
            name = "rate_limit_exceeded" if failure.status == 429 else "internal_server_error"
            return self.error(failure.status, name, "Try again later.", **headers)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self.error(400, "validation_error", "Invalid JSON body.")
        to = body.get("to")
        recipients = [to] if isinstance(to, str) else to
        for name in ("from", "subject"):
            if not isinstance(body.get(name), str) or not body[name]:
                return self.error(422, "missing_required_field", f"Missing `{name}` field.")
        if not isinstance(recipients, list) or not recipients or len(recipients) > 50:
            return self.error(422, "validation_error", "Invalid `to` field.")
        if not body.get("text") and not body.get("html"):
            return self.error(422, "validation_error", "Provide `text` or `html`.")
        headers = body.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            return self.error(422, "validation_error", "`headers` must map names to strings.")
        state.sent.append(
            Delivered(
                recipients,
                body["subject"],
                body.get("text", ""),
                body.get("html"),
                headers,
                body["from"],
            )
        )
        answer = {"id": secrets.token_hex(16)}
        if key is not None:
            state.idempotent[key] = answer
        return JSONResponse(answer)


class SendGridDouble(LoopbackDouble):
    def __init__(self) -> None:
        self.state = MailApiDouble()
        super().__init__(Starlette(routes=[Route("/v3/mail/send", self.send, methods=["POST"])]))

    @staticmethod
    def error(status: int, message: str, field_name: str | None = None, **headers: str) -> Response:
        error = {"message": message, "field": field_name, "help": None}
        return JSONResponse({"errors": [error]}, status, headers=headers)

    async def send(self, request: Request) -> Response:
        state = self.state
        state.attempts += 1
        if request.headers.get("authorization") != f"Bearer {SENDGRID_KEY}":
            return self.error(
                401, "The provided authorization grant is invalid, expired, or revoked"
            )
        failure = state._failure()
        if failure is not None:
            headers = {"retry-after": failure.retry_after} if failure.retry_after else {}
            return self.error(failure.status, "too many requests", **headers)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self.error(400, "Bad Request", None)
        personalizations = body.get("personalizations")
        if not isinstance(personalizations, list) or not personalizations:
            return self.error(
                400, "You must have at least one personalization.", "personalizations"
            )
        to = personalizations[0].get("to")
        if not isinstance(to, list) or not all(isinstance(t, dict) and t.get("email") for t in to):
            return self.error(
                400,
                "The to array is required for all personalization objects, "
                "and must have at least one email object with a valid email "
                "address.",
                "personalizations.0.to",
            )
        sender = body.get("from")
        if not isinstance(sender, dict) or not sender.get("email"):
            return self.error(400, "The from object must be provided for every email send.", "from")
        if not body.get("subject"):
            return self.error(400, "The subject is required.", "subject")
        content = body.get("content") or []
        types = [c.get("type") for c in content]
        if not types or any(not c.get("value") for c in content):
            return self.error(
                400,
                "The content value must be a string at least one character in length.",
                "content.0.value",
            )
        if (
            "text/html" in types
            and "text/plain" in types
            and types.index("text/plain") > types.index("text/html")
        ):
            return self.error(
                400, "If present, text/plain content must be first.", "content.0.type"
            )
        values = {c["type"]: c["value"] for c in content}
        state.sent.append(
            Delivered(
                [t["email"] for t in to],
                body["subject"],
                values.get("text/plain", ""),
                values.get("text/html"),
                body.get("headers") or {},
                sender["email"],
            )
        )
        return Response(status_code=202, headers={"X-Message-Id": secrets.token_urlsafe(16)})
