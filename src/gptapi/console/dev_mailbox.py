"""The dev mailbox: mail the platform would have sent, readable in the browser when no SMTP
server is configured, so a newcomer can follow a verification or reset link. Absent in
production and whenever real mail is sent."""

from __future__ import annotations

import html
import re
from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from gptapi.console.deps import State
from gptapi.console.errors import not_found
from gptapi.mail.transports import DevMailbox

api_router = APIRouter(prefix="/dev", tags=["dev"])
page_router = APIRouter(include_in_schema=False)

_URL = re.compile(r"https?://[^\s<>\"']+")


class DevMail(BaseModel):
    to: str
    subject: str
    text: str
    sent_at: datetime


def _mailbox(state: State) -> DevMailbox | None:
    transport = state.mailer.transport
    if state.settings.environment == "production" or not isinstance(transport, DevMailbox):
        return None
    return transport


@api_router.get("/mailbox", summary="Mail sent while no SMTP server is configured (dev only)")
async def mailbox(state: State) -> list[DevMail]:
    box = _mailbox(state)
    if box is None:
        raise not_found("mailbox")
    return [
        DevMail(to=m.to, subject=m.subject, text=m.text, sent_at=m.sent_at) for m in box.messages
    ]


def _linked(text: str) -> str:
    escaped = html.escape(text)
    return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)


@page_router.get("/dev/mailbox", response_class=HTMLResponse)
async def mailbox_page(state: State) -> HTMLResponse:
    box = _mailbox(state)
    if box is None:
        return HTMLResponse("Not found", status_code=404)
    items = "".join(
        f"<article><h2>{html.escape(m.subject)}</h2>"
        f"<p class=meta>To {html.escape(m.to)} · {m.sent_at:%Y-%m-%d %H:%M:%S} UTC</p>"
        f"<pre>{_linked(m.text)}</pre></article>"
        for m in box.messages
    )
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>Dev mailbox · GPT API</title>"
        "<style>body{font:15px system-ui;max-width:46rem;margin:2rem auto;padding:0 1rem}"
        "article{border-top:1px solid #ddd;padding:.5rem 0}.meta{color:#666}"
        "pre{white-space:pre-wrap}</style>"
        "<h1>Dev mailbox</h1><p>Mail is not sent while SMTP_HOST is empty; it lands here "
        "(newest first) and in the log.</p>" + (items or "<p>No mail yet.</p>")
    )
