"""Outgoing mail: SMTP when configured, otherwise a dev mailbox (log + /dev/mailbox page).

Endpoints send through `mail_queue.RequestMailQueue` (FastAPI BackgroundTasks), so mail
leaves after the request's transaction has committed and a slow SMTP server never holds a
response.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from gptapi.config import Settings

log = logging.getLogger(__name__)

DEV_MAILBOX_SIZE = 200


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    sent_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None: ...


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def send(self, mail: Mail) -> None:
        s = self._settings
        message = EmailMessage()
        message["From"] = s.mail_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.text)
        if mail.html:
            message.add_alternative(mail.html, subtype="html")
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username or None,
                password=s.smtp_password or None,
                use_tls=s.smtp_security == "tls",
                start_tls=s.smtp_security == "starttls",
                timeout=s.smtp_timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError):
            # The address is logged, the body never is: it may hold a sign-in link.
            log.exception("could not send %r to %s", mail.subject, mail.to)


class DevMailbox:
    """Keeps the last mails in memory and logs each, so a newcomer can click the link."""

    def __init__(self, size: int = DEV_MAILBOX_SIZE) -> None:
        self.messages: collections.deque[Mail] = collections.deque(maxlen=size)

    async def send(self, mail: Mail) -> None:
        self.messages.appendleft(mail)
        log.info("mail to %s: %s\n%s", mail.to, mail.subject, mail.text)


def build_mailer(settings: Settings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else DevMailbox()
