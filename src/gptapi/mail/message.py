"""A mail and what sends one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    sent_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The kind of notification (gptapi.mail.preferences.CATEGORIES) people may turn off;
    # None for security and account mail, which always goes out.
    category: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # A subject is one header line: line breaks or other control characters in a name
        # that goes into it (an organisation's, a person's) would make every transport refuse
        # the mail. They become spaces; nothing else of the text changes.
        object.__setattr__(self, "subject", " ".join(_CONTROL.sub(" ", self.subject).split()))


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None: ...
