"""Incident mail for anyone who asks: subscribe with an address, confirm with the mailed link
(double opt-in, so nobody can subscribe someone else), and leave with the link every mail
carries. The status monitor's loop mails each confirmed subscriber the incident updates
posted since the last one they got."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console.auth import throttle
from gptapi.console.errors import ApiError
from gptapi.kit.db import SessionMaker
from gptapi.mail.message import Mail, Mailer
from gptapi.models import Incident, IncidentUpdate, StatusSubscriber

log = logging.getLogger(__name__)

# Per client address, like the Contact Us form: enough to fix a typo, too few to spam.
SUBSCRIBE = throttle.Limit("status-subscribe", 5, timedelta(hours=1))
SIGNATURE = "\n\n— GPT API status"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def unsubscribe_token(secret_key: bytes, subscriber_id: int) -> str:
    mac = hmac.new(secret_key, f"status-unsubscribe:{subscriber_id}".encode(), hashlib.sha256)
    return f"{subscriber_id}.{mac.hexdigest()[:32]}"


async def subscribe(
    db: AsyncSession, email: str, *, ip: str, base_url: str, now: datetime
) -> Mail | None:
    """The confirmation mail to send, if any. The answer to the caller is the same whether
    the address was new, pending or already confirmed."""
    checks = [(SUBSCRIBE, ip)]
    await throttle.enforce(db, checks, now)
    await throttle.note(db, checks, now)
    email = email.strip().lower()
    row = await db.scalar(select(StatusSubscriber).where(StatusSubscriber.email == email))
    if row is not None and row.confirmed_at is not None:
        return None
    token = secrets.token_urlsafe(32)
    if row is None:
        row = StatusSubscriber(email=email, token_hash=_hash(token), created_at=now)
        db.add(row)
    else:
        row.token_hash = _hash(token)
    await db.flush()
    return Mail(
        email,
        "Confirm your GPT API status subscription",
        "Someone (hopefully you) asked to be mailed when GPT API has an incident. Confirm by "
        f"opening:\n\n{base_url}/status?confirm={token}\n\n"
        "If it was not you, ignore this mail and nothing will be sent." + SIGNATURE,
    )


async def confirm(db: AsyncSession, token: str, now: datetime) -> None:
    row = await db.scalar(
        select(StatusSubscriber).where(StatusSubscriber.token_hash == _hash(token))
    )
    if row is None:
        raise ApiError(
            404,
            "invalid_token",
            "This link is invalid or was replaced by a newer one.",
            param="token",
        )
    if row.confirmed_at is None:
        row.confirmed_at = now
        # Updates posted before confirming are on the page; mail only what comes next.
        row.last_update_id = int(await db.scalar(select(func.max(IncidentUpdate.id))) or 0)


async def unsubscribe(db: AsyncSession, secret_key: bytes, token: str) -> None:
    """Idempotent: an address already gone is gone."""
    head, _, _ = token.partition(".")
    if not head.isdigit() or not hmac.compare_digest(
        unsubscribe_token(secret_key, int(head)), token
    ):
        raise ApiError(404, "invalid_token", "This unsubscribe link is not valid.", param="token")
    row = await db.get(StatusSubscriber, int(head))
    if row is not None:
        await db.delete(row)


def _update_mail(
    subscriber: StatusSubscriber,
    incident: Incident,
    update: IncidentUpdate,
    base_url: str,
    key: bytes,
) -> Mail:
    leave = f"{base_url}/status?unsubscribe={unsubscribe_token(key, subscriber.id)}"
    return Mail(
        subscriber.email,
        f"[{update.status_at_update}] {incident.title}"[:200],
        f"{incident.title} ({incident.severity} severity)\n\n"
        f"{update.status_at_update.capitalize()}: {update.description}\n\n"
        f"Current status: {base_url}/status\n\n"
        f"Stop these mails: {leave}" + SIGNATURE,
        headers=(("List-Unsubscribe", f"<{leave}>"),),
    )


async def mail_new_updates(
    sessions: SessionMaker, mailer: Mailer, base_url: str, secret_key: bytes
) -> None:
    """Mail every confirmed subscriber the updates they have not had, oldest first. A
    subscriber's mark moves after each mail, so a crash repeats at most one mail."""
    async with sessions() as session:
        newest = int(await session.scalar(select(func.max(IncidentUpdate.id))) or 0)
        subscribers = (
            await session.scalars(
                select(StatusSubscriber).where(
                    StatusSubscriber.confirmed_at.is_not(None),
                    StatusSubscriber.last_update_id < newest,
                )
            )
        ).all()
        for subscriber in subscribers:
            rows = await session.execute(
                select(IncidentUpdate, Incident)
                .join(Incident, Incident.id == IncidentUpdate.incident_id)
                .where(IncidentUpdate.id > subscriber.last_update_id)
                .order_by(IncidentUpdate.id)
            )
            for update, incident in rows:
                try:
                    await mailer.send(
                        _update_mail(subscriber, incident, update, base_url, secret_key)
                    )
                except Exception:
                    log.exception("status mail to subscriber %s failed; retrying", subscriber.id)
                    break
                subscriber.last_update_id = update.id
                await session.commit()
