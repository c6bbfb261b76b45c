"""Mail to an organisation's owners about its money, sent after the change committed."""

from __future__ import annotations

from dataclasses import dataclass

from gptapi.console.mail import Mail, Mailer


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str


async def send_notices(mailer: Mailer, emails: list[str], notice: Notice) -> None:
    for email in emails:
        await mailer.send(Mail(to=email, subject=notice.subject, text=notice.text))
