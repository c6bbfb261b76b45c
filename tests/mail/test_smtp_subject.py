"""A subject is one header line: line breaks that reach it from a name still let the mail go
out, with nothing injected."""

from __future__ import annotations

import asyncio

from gptapi.config import Settings
from gptapi.mail.message import Mail
from gptapi.mail.transports import SmtpMailer
from tests.console.auth.flows import SmtpInbox


def test_line_breaks_in_a_subject_are_flattened_and_the_mail_is_sent() -> None:
    inbox = SmtpInbox().start()
    try:
        settings = Settings(smtp_host="127.0.0.1", smtp_port=inbox.port, smtp_security="none")
        mail = Mail("ada@example.com", "You're invited to Acme\r\nBcc: eve@example.com\x00", "hi")
        assert mail.subject == "You're invited to Acme Bcc: eve@example.com"
        asyncio.run(SmtpMailer(settings).send(mail))
        [received] = inbox.messages
        assert received["Subject"] == mail.subject
        assert received["Bcc"] is None
    finally:
        inbox.stop()
