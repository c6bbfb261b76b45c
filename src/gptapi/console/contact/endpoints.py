"""/api/contact: the Contact Us form, open to everyone."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gptapi.console.auth.sessions import client_ip
from gptapi.console.contact import service
from gptapi.console.contact.schemas import ContactForm, ContactReceived
from gptapi.console.deps import DbSession, OptionalViewer, State
from gptapi.console.mail_queue import RequestMailQueue

router = APIRouter(prefix="/contact", tags=["contact"])


@router.post("", status_code=202, response_model=ContactReceived)
async def contact(
    body: ContactForm,
    request: Request,
    db: DbSession,
    state: State,
    viewer: OptionalViewer,
    mail: RequestMailQueue,
) -> ContactReceived:
    """Send a message to the operator. Signed-in senders are linked to their account;
    each client address may send 5 messages an hour (429 with Retry-After beyond)."""
    row = await service.submit(
        db,
        body,
        user_id=viewer.user.id if viewer else None,
        ip=client_ip(request),
        now=state.clock.now(),
    )
    for to in await service.operator_addresses(db, state.settings):
        mail.send(service.notification(row, to))
    return ContactReceived(id=row.id, received_at=row.created_at)
