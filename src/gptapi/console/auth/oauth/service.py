"""Who a provider identity signs in as: its linked user, a user with the same verified email
(linked on the way), or a new user with a personal organisation."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi import audit
from gptapi.admin.service import create_user
from gptapi.console.auth.oauth.providers import ProviderProfile
from gptapi.console.auth.sessions import end_all_sessions
from gptapi.console.errors import ApiError, not_found
from gptapi.models import OAuthIdentity, User


class Refusal(enum.StrEnum):
    """Why a provider sign-in was turned away; sent back to the console as `?error=`."""

    ACCESS_DENIED = "access_denied"
    PROVIDER_ERROR = "provider_error"
    INVALID_STATE = "invalid_state"
    EMAIL_MISSING = "email_missing"
    EMAIL_NOT_VERIFIED = "email_not_verified"
    IDENTITY_IN_USE = "identity_in_use"
    ACCOUNT_DISABLED = "account_disabled"


class SignInRefused(Exception):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


async def find_identity(
    db: AsyncSession, provider: str, provider_user_id: str
) -> OAuthIdentity | None:
    return await db.scalar(
        select(OAuthIdentity).where(
            OAuthIdentity.provider == provider,
            OAuthIdentity.provider_user_id == provider_user_id,
        )
    )


async def resolve_user(
    db: AsyncSession,
    provider: str,
    profile: ProviderProfile,
    *,
    signed_in: User | None,
    now: datetime,
    ip: str,
) -> User:
    """The user this identity belongs to, linking or creating as needed. A signed-in person
    completing the flow adds the identity to their own account."""
    identity = await find_identity(db, provider, profile.provider_user_id)
    if identity is not None:
        if signed_in is not None and identity.user_id != signed_in.id:
            raise SignInRefused(Refusal.IDENTITY_IN_USE)
        user = await db.get(User, identity.user_id)
        assert user is not None  # the foreign key cascades deletes
    elif signed_in is not None:
        user = signed_in
        await _link(db, user, provider, profile, now, ip)
    else:
        user = await _user_for_email(db, profile, now)
        await _link(db, user, provider, profile, now, ip)
    if not user.is_active:
        raise SignInRefused(Refusal.ACCOUNT_DISABLED)
    return user


async def _user_for_email(db: AsyncSession, profile: ProviderProfile, now: datetime) -> User:
    # An address the provider has not verified proves nothing: it neither claims an existing
    # account nor reserves one for whoever typed it in at the provider.
    if not profile.email:
        raise SignInRefused(Refusal.EMAIL_MISSING)
    if not profile.email_verified:
        raise SignInRefused(Refusal.EMAIL_NOT_VERIFIED)
    email = profile.email.strip().lower()
    user = await db.scalar(select(User).where(User.email == email))
    if user is None:
        user, _ = await create_user(db, email, name=profile.name)
    elif not user.is_active:
        raise SignInRefused(Refusal.ACCOUNT_DISABLED)
    elif user.email_verified_at is None:
        # Whoever registered this address never proved it was theirs; the provider just did.
        # Their password and sessions go, so a squatter cannot keep a way into the account.
        user.password_hash = None
        await end_all_sessions(db, user.id)
    if user.email_verified_at is None:
        user.email_verified_at = now
    return user


async def _link(
    db: AsyncSession, user: User, provider: str, profile: ProviderProfile, now: datetime, ip: str
) -> None:
    db.add(
        OAuthIdentity(
            provider=provider,
            provider_user_id=profile.provider_user_id,
            user_id=user.id,
            email=(profile.email or "").strip().lower(),
            created_at=now,
        )
    )
    await db.flush()
    audit.record(
        db,
        action="auth.identity_linked",
        actor_user_id=user.id,
        target_type="user",
        target_id=str(user.id),
        data={"provider": provider},
        ip=ip,
    )


async def list_identities(db: AsyncSession, user_id: uuid.UUID) -> list[OAuthIdentity]:
    return list(
        (
            await db.scalars(
                select(OAuthIdentity)
                .where(OAuthIdentity.user_id == user_id)
                .order_by(OAuthIdentity.created_at, OAuthIdentity.id)
            )
        ).all()
    )


async def unlink(db: AsyncSession, user: User, provider: str, ip: str) -> None:
    """Forget the user's identities at `provider`, unless nothing else could sign them in."""
    identities = await list_identities(db, user.id)
    linked = [i for i in identities if i.provider == provider]
    if not linked:
        raise not_found("identity")
    if len(identities) == len(linked) and not user.password_hash:
        raise ApiError(
            409,
            "last_sign_in_method",
            "This is your only way to sign in; set a password or link another provider first.",
        )
    for identity in linked:
        await db.delete(identity)
    audit.record(
        db,
        action="auth.identity_unlinked",
        actor_user_id=user.id,
        target_type="user",
        target_id=str(user.id),
        data={"provider": provider},
        ip=ip,
    )
