"""Where mail goes: an SMTP server, Resend or SendGrid (gptapi.mail.http_api), or, with none
configured, a dev mailbox (log + /dev/mailbox page).

Endpoints send through `console.mail_queue.RequestMailQueue` (FastAPI BackgroundTasks), so
mail leaves after the request's transaction has committed and a slow provider never holds a
response.
"""

from __future__ import annotations

import collections
import logging
from email.message import EmailMessage

import aiosmtplib

from gptapi.config import Settings
from gptapi.mail.http_api import ResendMailer, SendGridMailer
from gptapi.mail.message import Mail, Mailer

log = logging.getLogger(__name__)

DEV_MAILBOX_SIZE = 200


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def send(self, mail: Mail) -> None:
        s = self._settings
        message = EmailMessage()
        message["From"] = s.mail_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        for name, value in mail.headers:
            message[name] = value
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


def build_transport(settings: Settings) -> Mailer:
    """The provider MAIL_PROVIDER names; "auto" takes the first one configured."""
    provider: str = settings.mail_provider
    if provider == "auto":
        configured = (
            ("smtp", settings.smtp_host),
            ("resend", settings.resend_api_key),
            ("sendgrid", settings.sendgrid_api_key),
        )
        provider = next((name for name, value in configured if value), "dev")
    needs = {"smtp": "SMTP_HOST", "resend": "RESEND_API_KEY", "sendgrid": "SENDGRID_API_KEY"}
    if provider in needs and not getattr(settings, needs[provider].lower()):
        raise RuntimeError(f"MAIL_PROVIDER={provider} needs {needs[provider]}")
    if provider == "smtp":
        return SmtpMailer(settings)
    if provider == "resend":
        return ResendMailer(settings)
    if provider == "sendgrid":
        return SendGridMailer(settings)
    return DevMailbox()
