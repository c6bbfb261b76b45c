"""Mail through Resend (`POST /emails`) or SendGrid (`POST /v3/mail/send`) over HTTPS.

Both are retried on 429, 5xx and network errors with exponential backoff, honouring the
provider's Retry-After; any other refusal (a bad address, a bad key) is logged and dropped,
as retrying cannot help. Resend gets an Idempotency-Key stable across the retries of one mail,
so a retry after a lost answer does not send it twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from email.utils import parseaddr, parsedate_to_datetime
from typing import Any

import httpx

from gptapi.config import Settings
from gptapi.mail.message import Mail

log = logging.getLogger(__name__)

# Longest wait between two attempts, whatever Retry-After says.
MAX_WAIT_SECONDS = 60.0
Sleep = Callable[[float], Awaitable[None]]


class HttpApiMailer:
    """The retry loop; subclasses say where and how one mail is posted."""

    name = "mail provider"

    def __init__(self, settings: Settings, *, url: str, api_key: str) -> None:
        self._url = url
        self._api_key = api_key
        self._from = settings.mail_from
        self._attempts = settings.mail_max_attempts
        self._base = settings.mail_retry_base_seconds
        self.sleep: Sleep = asyncio.sleep  # tests record the waits instead

    def payload(self, mail: Mail) -> dict[str, Any]:
        raise NotImplementedError

    def headers(self, idempotency_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"}

    async def send(self, mail: Mail) -> None:
        body = self.payload(mail)
        headers = self.headers(uuid.uuid4().hex)
        async with httpx.AsyncClient(timeout=30) as client:
            for attempt in range(1, self._attempts + 1):
                wait = self._base * 2 ** (attempt - 1)
                try:
                    response = await client.post(self._url, json=body, headers=headers)
                except httpx.TransportError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                else:
                    if response.is_success:
                        return
                    problem = f"{response.status_code} {response.text[:300]}"
                    if response.status_code != 429 and response.status_code < 500:
                        # The address is logged, the body never is: it may hold a link.
                        log.error(
                            "%s refused %r to %s: %s", self.name, mail.subject, mail.to, problem
                        )
                        return
                    wait = max(wait, retry_after(response) or 0.0)
                if attempt == self._attempts:
                    log.error(
                        "%s: gave up on %r to %s after %d attempts: %s",
                        self.name,
                        mail.subject,
                        mail.to,
                        attempt,
                        problem,
                    )
                    return
                log.warning("%s: %s; retrying in %.1fs", self.name, problem, wait)
                await self.sleep(min(wait, MAX_WAIT_SECONDS))


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds, from a number or an HTTP date."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    date = response.headers.get("date")
    now = parsedate_to_datetime(date) if date else None
    return max(0.0, (moment - now).total_seconds()) if now else None


class ResendMailer(HttpApiMailer):
    name = "Resend"

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            url=f"{settings.resend_api_base.rstrip('/')}/emails",
            api_key=settings.resend_api_key,
        )

    def headers(self, idempotency_key: str) -> dict[str, str]:
        return {**super().headers(idempotency_key), "Idempotency-Key": idempotency_key}

    def payload(self, mail: Mail) -> dict[str, Any]:
        body: dict[str, Any] = {
            "from": self._from,
            "to": [mail.to],
            "subject": mail.subject,
            "text": mail.text,
        }
        if mail.html:
            body["html"] = mail.html
        if mail.headers:
            body["headers"] = dict(mail.headers)
        return body


class SendGridMailer(HttpApiMailer):
    name = "SendGrid"

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            url=f"{settings.sendgrid_api_base.rstrip('/')}/v3/mail/send",
            api_key=settings.sendgrid_api_key,
        )

    def payload(self, mail: Mail) -> dict[str, Any]:
        name, address = parseaddr(self._from)
        sender = {"email": address, "name": name} if name else {"email": address}
        # SendGrid wants text/plain before text/html.
        content = [{"type": "text/plain", "value": mail.text}]
        if mail.html:
            content.append({"type": "text/html", "value": mail.html})
        body: dict[str, Any] = {
            "personalizations": [{"to": [{"email": mail.to}]}],
            "from": sender,
            "subject": mail.subject,
            "content": content,
        }
        if mail.headers:
            body["headers"] = dict(mail.headers)
        return body
