"""Keys for the browser playground.

The playground calls /v1 from the browser exactly as a customer's code would, so requests
are admitted, limited, billed and logged by the gateway's own pipeline with nothing added to
it, and "view code" shows the very call the page made. The browser cannot hold a person's
real keys (they are shown once), so the console mints a short-lived key of purpose
"playground" for the signed-in person: one live at a time per person and organisation
(minting revokes the last), expiring after an hour, left out of the key list; its usage shows
under the name "Playground".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service as admin
from gptapi.console.audit import record_change
from gptapi.console.deps import OrgContext
from gptapi.console.playground.schemas import PlaygroundKey
from gptapi.gateway import announcements
from gptapi.models import ApiKey

PURPOSE = "playground"
LIFETIME = timedelta(hours=1)


async def issue_key(session: AsyncSession, ctx: OrgContext, now: datetime) -> PlaygroundKey:
    user = ctx.viewer.user
    revoked = await session.scalars(
        update(ApiKey)
        .where(
            ApiKey.organization_id == ctx.organization.id,
            ApiKey.user_id == user.id,
            ApiKey.purpose == PURPOSE,
            ApiKey.revoked.is_(False),
        )
        .values(revoked=True, revoked_at=now)
        .returning(ApiKey.key_hash)
    )
    announcements.revoked(session, revoked)
    expires_at = now + LIFETIME
    key, secret = await admin.create_key(
        session, ctx.organization, user, name="Playground", expires_at=expires_at
    )
    key.purpose = PURPOSE
    key.created_at = now
    await session.flush()
    record_change(
        session,
        ctx,
        "playground.key_issue",
        target_type="api_key",
        target_id=key.id,
        data={"prefix": key.key_prefix, "expires_at": expires_at.isoformat()},
    )
    return PlaygroundKey(key_id=key.id, secret=secret, expires_at=expires_at)
