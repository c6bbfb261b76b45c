"""Announcing committed changes to every gateway process, once the change has committed.

- Revoked keys: every process drops them from its key cache at once.
- Catalog changes (models, prices, servers, deployments): every process re-reads them at
  once instead of at its next periodic refresh.

Code that makes such a change calls `revoked(session, key_hashes)` or
`catalog_changed(session)`; after that session commits, the announcement goes to the
publisher this process installed (`gptapi.gateway.shared.announce` when REDIS_URL is set).
Announcing before the commit would let a process re-read the old state. Without a publisher
(no Redis) this does nothing: one process's key cache forgets a key at
`key_cache_ttl_seconds`, and whoever changes the catalog refreshes it in its own process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

REVOKED = "keys:revoked"
CATALOG = "catalog:changed"

# (channel, messages)
Publisher = Callable[[str, list[str]], Awaitable[None]]

_INFO_KEY = "announcements"
_publisher: Publisher | None = None
_sending: set[asyncio.Task[None]] = set()


def install(publisher: Publisher | None) -> None:
    """Where this process announces changes (None: nowhere)."""
    global _publisher
    _publisher = publisher


def revoked(session: AsyncSession, key_hashes: Iterable[str]) -> None:
    _note(session, REVOKED, list(key_hashes))


def catalog_changed(session: AsyncSession) -> None:
    _note(session, CATALOG, ["changed"])


def _note(session: AsyncSession, channel: str, messages: list[str]) -> None:
    if _publisher is not None:
        notes: dict[str, list[str]] = session.sync_session.info.setdefault(_INFO_KEY, {})
        notes.setdefault(channel, []).extend(messages)


def publish_now(channel: str, messages: list[str]) -> None:
    """Announce a change that is already committed (or lives outside the database)."""
    if _publisher is None:
        return
    task = asyncio.get_running_loop().create_task(_send(_publisher, channel, messages))
    _sending.add(task)
    task.add_done_callback(_sending.discard)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    notes: dict[str, list[str]] | None = session.info.pop(_INFO_KEY, None)
    for channel, messages in (notes or {}).items():
        publish_now(channel, messages)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_INFO_KEY, None)


async def _send(publisher: Publisher, channel: str, messages: list[str]) -> None:
    try:
        await publisher(channel, messages)
    except Exception:
        # Every process still catches up at its cache TTL or periodic refresh.
        log.exception("could not announce %d change(s) on %s", len(messages), channel)
