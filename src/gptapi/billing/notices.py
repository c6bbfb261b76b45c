"""Mail to an organisation's owners about its money, sent after the change committed; each
notice has a category its recipients may have turned off."""

from __future__ import annotations

from dataclasses import dataclass

from gptapi.mail.message import Mail, Mailer


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str
    category: str


async def send_notices(mailer: Mailer, emails: list[str], notice: Notice) -> None:
    for email in emails:
        await mailer.send(
            Mail(to=email, subject=notice.subject, text=notice.text, category=notice.category)
        )
