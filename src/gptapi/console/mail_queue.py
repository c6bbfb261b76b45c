"""Mail queued by a request leaves after its transaction commits (BackgroundTasks run once
the response is out), so a failed request never sends anything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import BackgroundTasks, Depends

from gptapi.console.deps import State
from gptapi.mail.message import Mail, Mailer


@dataclass(frozen=True)
class MailQueue:
    background: BackgroundTasks
    mailer: Mailer

    def send(self, mail: Mail) -> None:
        self.background.add_task(self.mailer.send, mail)


def mail_queue(background: BackgroundTasks, state: State) -> MailQueue:
    return MailQueue(background, state.mailer)


RequestMailQueue = Annotated[MailQueue, Depends(mail_queue)]
