"""Account flows as the web console drives them, and the mail they produce."""

from __future__ import annotations

import re
import socket
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote

import pyotp
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from gptapi.kit.clock import ManualClock
from gptapi.mail.message import Mail
from gptapi.mail.transports import DevMailbox
from tests.support.console import ConsoleClient
from tests.support.platform import Platform
from tests.support.threads import wait_until

PASSWORD = "correct horse battery"


@dataclass
class AuthPlatform:
    platform: Platform
    clock: ManualClock
    mailbox: DevMailbox

    @property
    def url(self) -> str:
        return self.platform.url

    def client(self) -> ConsoleClient:
        return ConsoleClient(self.platform.url)

    def mail(self, to: str, subject: str) -> Mail:
        """The newest mail to `to` whose subject contains `subject`, once it has left."""
        found: list[Mail] = []

        def arrived() -> bool:
            found[:] = [m for m in self.mailbox.messages if m.to == to and subject in m.subject]
            return bool(found)

        wait_until(arrived)
        return found[0]

    def mails_to(self, to: str) -> list[Mail]:
        return [m for m in self.mailbox.messages if m.to == to]


@dataclass
class Account:
    client: ConsoleClient
    email: str
    password: str


def new_email() -> str:
    return f"person-{uuid.uuid4().hex[:10]}@example.com"


def token_in(text: str, path: str) -> str:
    match = re.search(re.escape(path) + r"\?token=(\S+)", text)
    assert match, text
    return unquote(match.group(1))


def register(env: AuthPlatform, *, email: str | None = None) -> Account:
    """Sign up, follow the verification link and sign in, all over HTTP."""
    email = email or new_email()
    client = env.client()
    assert (
        client.post("/api/auth/signup", json={"email": email, "password": PASSWORD}).status_code
        == 201
    )
    token = token_in(env.mail(email, "Verify").text, "/verify-email")
    assert client.post("/api/auth/verify-email", json={"token": token}).status_code == 200
    signed_in = client.post("/api/auth/signin", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    return Account(client, email, PASSWORD)


def confirm(account: Account) -> None:
    response = account.client.post("/api/auth/confirm", json={"password": account.password})
    assert response.status_code == 200, response.text


def totp_code(secret: str, env: AuthPlatform) -> str:
    """The code an authenticator app shows now; the clock moves on a step first, because
    the platform accepts each time step only once."""
    env.clock.advance(30)
    return pyotp.TOTP(secret).at(env.clock.now())


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


class SmtpInbox:
    """A real SMTP server on localhost that keeps what it receives."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.messages: list[EmailMessage] = []
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def start(self) -> SmtpInbox:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, to: str) -> EmailMessage:
        wait_until(lambda: any(m["To"] == to for m in self.messages))
        return next(m for m in self.messages if m["To"] == to)
