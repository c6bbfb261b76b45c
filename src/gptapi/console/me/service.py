"""The signed-in person's own account: what the console shows, renaming, and deletion."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi import audit
from gptapi.console.auth import tokens, two_factor
from gptapi.console.auth.sessions import end_all_sessions
from gptapi.console.errors import conflict
from gptapi.console.me.schemas import Me, OrganizationMembership, UserOut
from gptapi.gateway import announcements
from gptapi.models import ApiKey, Membership, OAuthIdentity, Organization, StoredResponse, User


def analytics_id(secret_key: bytes, user_id: uuid.UUID) -> str:
    """A stable pseudonym for product analytics: says nothing about who the person is."""
    return hmac.new(secret_key, b"analytics:" + user_id.bytes, hashlib.sha256).hexdigest()[:24]


async def me(db: AsyncSession, user: User, secret_key: bytes) -> Me:
    rows = await db.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user.id)
        .order_by(Organization.is_personal.desc(), Organization.name)
    )
    return Me(
        analytics_id=analytics_id(secret_key, user.id),
        user=UserOut(
            id=user.id,
            email=user.email,
            name=user.name,
            email_verified=user.email_verified_at is not None,
            totp_enabled=two_factor.enabled(user),
            has_password=user.password_hash is not None,
            is_admin=user.is_admin,
            created_at=user.created_at,
        ),
        organizations=[
            OrganizationMembership(
                id=org.id,
                name=org.name,
                role=role,
                is_personal=org.is_personal,
                is_active=org.is_active,
            )
            for org, role in rows
        ],
    )


def _other_members(organization_id: uuid.UUID, user_id: uuid.UUID) -> Select[int]:
    return select(func.count()).where(
        Membership.organization_id == organization_id, Membership.user_id != user_id
    )


async def _organizations_to_close(db: AsyncSession, user: User) -> list[Organization]:
    """Organisations that end with this account: the personal one, and any the user owns
    alone with nobody else in it. Shared ones left without an owner are refused."""
    owned = (
        await db.scalars(
            select(Organization)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.user_id == user.id, Membership.role == "owner")
        )
    ).all()
    closing: list[Organization] = []
    for organization in owned:
        others = await db.scalar(_other_members(organization.id, user.id)) or 0
        if organization.is_personal or others == 0:
            closing.append(organization)
            continue
        other_owners = await db.scalar(
            _other_members(organization.id, user.id).where(Membership.role == "owner")
        )
        if not other_owners:
            raise conflict(
                f"You are the only owner of {organization.name!r}. Make another member an "
                "owner (or delete the organization) first.",
                code="ownership_transfer_required",
            )
    return closing


async def delete_account(db: AsyncSession, user: User, *, now: datetime, ip: str) -> None:
    """Anonymise the person and cut every way in; usage and ledger rows stay for accounting
    (docs/privacy.md, "Account deletion")."""
    closing = await _organizations_to_close(db, user)
    closing_ids = [organization.id for organization in closing]
    revoked = await db.scalars(
        update(ApiKey)
        .where(
            or_(ApiKey.user_id == user.id, ApiKey.organization_id.in_(closing_ids)),
            ApiKey.revoked.is_(False),
        )
        .values(revoked=True, revoked_at=now)
        .returning(ApiKey.key_hash)
    )
    announcements.revoked(db, revoked)
    for organization in closing:
        organization.is_active = False
        organization.deleted_at = now
    # What people asked the models, kept by the Responses API: not part of the books.
    await db.execute(delete(StoredResponse).where(StoredResponse.organization_id.in_(closing_ids)))
    await db.execute(delete(Membership).where(Membership.user_id == user.id))
    await db.execute(delete(OAuthIdentity).where(OAuthIdentity.user_id == user.id))
    await tokens.revoke(db, user)
    await two_factor.delete_recovery_codes(db, user)
    await end_all_sessions(db, user.id)
    user.email = f"deleted-{user.id}@deleted.invalid"
    user.name = ""
    user.password_hash = None
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.email_verified_at = None
    user.is_active = False
    user.is_admin = False
    audit.record(
        db,
        action="user.deleted",
        actor_user_id=user.id,
        target_type="user",
        target_id=user.id,
        data={"closed_organizations": [str(i) for i in closing_ids]},
        ip=ip,
    )
