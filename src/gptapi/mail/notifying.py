"""The mailer every part of the platform sends through: mail of a category the recipient
turned off is dropped here, once for every sender, and the rest gets a one-click unsubscribe
link (RFC 8058: `List-Unsubscribe` + `List-Unsubscribe-Post`, and a link in the text)."""

from __future__ import annotations

import dataclasses
import logging
from urllib.parse import quote

from sqlalchemy import select

from gptapi.kit.db import SessionMaker
from gptapi.mail.message import Mail, Mailer
from gptapi.mail.preferences import BY_KEY, choices
from gptapi.mail.unsubscribe import UnsubscribeTokens
from gptapi.models import User

log = logging.getLogger(__name__)


class NotifyingMailer:
    def __init__(
        self, transport: Mailer, sessions: SessionMaker, tokens: UnsubscribeTokens, base_url: str
    ) -> None:
        self.transport = transport
        self._sessions = sessions
        self.tokens = tokens
        self._base_url = base_url

    async def send(self, mail: Mail) -> None:
        if mail.category is None:  # security and account mail cannot be turned off
            await self.transport.send(mail)
            return
        category = BY_KEY[mail.category]
        async with self._sessions() as session:
            user_id = await session.scalar(select(User.id).where(User.email == mail.to.lower()))
            wanted = user_id is None or (await choices(session, user_id))[category.key]
        if not wanted:
            log.info("not sending %r to %s: %s is turned off", mail.subject, mail.to, category.key)
            return
        if user_id is not None:
            mail = self._with_unsubscribe(mail, self.tokens.make(user_id, category.key))
        await self.transport.send(mail)

    def _with_unsubscribe(self, mail: Mail, token: str) -> Mail:
        label = BY_KEY[mail.category or ""].label
        one_click = f"{self._base_url}/api/notifications/unsubscribe?token={quote(token)}"
        page = f"{self._base_url}/unsubscribe?token={quote(token)}"
        footer = (
            f"\n\nYou get this mail because “{label}” notifications are on for your account."
            f"\nUnsubscribe from them: {page}"
            f"\nAll mail settings: {self._base_url}/dashboard/settings"
        )
        return dataclasses.replace(
            mail,
            text=mail.text + footer,
            headers=(
                *mail.headers,
                ("List-Unsubscribe", f"<{one_click}>"),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ),
        )
