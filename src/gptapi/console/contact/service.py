"""Storing a Contact Us message and addressing it to whoever runs the platform."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.config import Settings
from gptapi.console.auth import throttle
from gptapi.console.contact.schemas import ContactForm
from gptapi.mail.message import Mail
from gptapi.models import ContactMessage, User

# Per client address: enough for a real conversation, too few to flood the operator's inbox.
MESSAGES = throttle.Limit("contact", 5, timedelta(hours=1))


async def submit(
    db: AsyncSession,
    form: ContactForm,
    *,
    user_id: uuid.UUID | None,
    ip: str,
    now: datetime,
) -> ContactMessage:
    """Store the message, or 429 with Retry-After once this address has sent its share."""
    checks = [(MESSAGES, ip)]
    await throttle.enforce(db, checks, now)
    await throttle.note(db, checks, now)
    row = ContactMessage(
        name=form.name.strip(),
        email=form.email,
        message=form.message.strip(),
        user_id=user_id,
        ip=ip,
        created_at=now,
    )
    db.add(row)
    await db.flush()
    return row


async def operator_addresses(db: AsyncSession, settings: Settings) -> list[str]:
    if settings.contact_email:
        return [settings.contact_email]
    admins = await db.scalars(
        select(User.email).where(User.is_admin.is_(True), User.is_active.is_(True))
    )
    return sorted(admins)


def notification(row: ContactMessage, to: str) -> Mail:
    sender = f"{row.name} <{row.email}>"
    account = f"Signed in as user {row.user_id}" if row.user_id else "Not signed in"
    return Mail(
        to=to,
        subject=f"Contact Us #{row.id} from {row.name}"[:200],
        text=(
            f"From: {sender}\n{account}; address {row.ip or 'unknown'}.\n"
            f"Received {row.created_at.isoformat()}.\n\n{row.message}\n"
        ),
    )
