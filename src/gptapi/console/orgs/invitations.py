"""Inviting people by email: the link carries a random token, stored only as its digest.

Re-inviting an address replaces the pending invitation (new token, new expiry); the link is
accepted by a signed-in user whose verified email is the invited address.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi import audit
from gptapi.console.audit import record_change
from gptapi.console.auth.sessions import hash_token
from gptapi.console.deps import OrgContext, Viewer
from gptapi.console.errors import ApiError, conflict, forbidden, not_found
from gptapi.console.orgs import repository
from gptapi.console.orgs.schemas import InvitationCreate, InvitationOut, InvitationPreview
from gptapi.console.permissions import Role
from gptapi.mail.message import Mail
from gptapi.models import Invitation, Membership, Organization

LIFETIME = timedelta(days=7)


async def invite(
    session: AsyncSession, ctx: OrgContext, body: InvitationCreate, now: datetime
) -> tuple[InvitationOut, str]:
    """The invitation and the token for its link."""
    if body.role is Role.OWNER and ctx.role is not Role.OWNER:
        raise forbidden("Only owners can invite owners.")
    email = body.email.strip().lower()
    user = await repository.user_by_email(session, email)
    if user is not None and await repository.membership(session, ctx.organization.id, user.id):
        raise conflict(f"{email} is already a member of this organization.", code="already_member")
    token = secrets.token_urlsafe(32)
    invitation = await repository.open_invitation_for(session, ctx.organization.id, email)
    if invitation is None:
        invitation = Invitation(organization_id=ctx.organization.id, email=email)
        session.add(invitation)
    invitation.role = body.role.value
    invitation.token_hash = hash_token(token)
    invitation.invited_by = ctx.viewer.user.id
    invitation.created_at = now
    invitation.expires_at = now + LIFETIME
    await session.flush()
    record_change(
        session,
        ctx,
        "invitation.create",
        target_type="invitation",
        target_id=invitation.id,
        data={"email": email, "role": body.role.value},
    )
    return describe(invitation, now), token


def invitation_mail(organization: Organization, inviter: str, email: str, link: str) -> Mail:
    return Mail(
        to=email,
        subject=f"You're invited to {organization.name} on GPT API",
        text=(
            f"{inviter} invited you to join {organization.name} on GPT API.\n\n"
            f"Accept the invitation: {link}\n\n"
            f"The link works for {LIFETIME.days} days. Sign in (or create an account) with "
            f"{email} to accept it. If you did not expect this, ignore this email."
        ),
    )


async def pending(session: AsyncSession, ctx: OrgContext, now: datetime) -> list[InvitationOut]:
    return [
        describe(i, now) for i in await repository.open_invitations(session, ctx.organization.id)
    ]


async def cancel(session: AsyncSession, ctx: OrgContext, invitation_id: uuid.UUID) -> None:
    invitation = await repository.invitation_in(session, ctx.organization.id, invitation_id)
    if invitation is None:
        raise not_found("invitation")
    await session.delete(invitation)
    record_change(
        session,
        ctx,
        "invitation.cancel",
        target_type="invitation",
        target_id=invitation.id,
        data={"email": invitation.email},
    )


async def preview(session: AsyncSession, token: str, now: datetime) -> InvitationPreview:
    invitation, organization = await _open(session, token)
    return InvitationPreview(
        organization_name=organization.name,
        email=invitation.email,
        role=Role(invitation.role),
        status=describe(invitation, now).status,
        expires_at=invitation.expires_at,
    )


async def accept(
    session: AsyncSession, viewer: Viewer, token: str, now: datetime
) -> tuple[Organization, Role]:
    invitation, organization = await _open(session, token)
    if invitation.expires_at <= now:
        raise ApiError(410, "invitation_expired", "This invitation has expired; ask for a new one.")
    user = viewer.user
    if user.email_verified_at is None or user.email != invitation.email:
        raise forbidden(
            f"This invitation is for {invitation.email}; sign in with that address (verified) "
            "to accept it.",
            code="email_mismatch",
        )
    if await repository.membership(session, organization.id, user.id):
        raise conflict("You are already a member of this organization.", code="already_member")
    role = Role(invitation.role)
    session.add(
        Membership(
            organization_id=organization.id, user_id=user.id, role=role.value, created_at=now
        )
    )
    invitation.accepted_at = now
    audit.record(
        session,
        action="invitation.accept",
        actor_user_id=user.id,
        organization_id=organization.id,
        target_type="invitation",
        target_id=invitation.id,
        data={"email": user.email, "role": role.value},
        ip=viewer.ip,
    )
    return organization, role


async def _open(session: AsyncSession, token: str) -> tuple[Invitation, Organization]:
    """The unaccepted invitation behind a link, and its organisation."""
    invitation = await repository.invitation_by_token_hash(session, hash_token(token))
    organization = (
        await session.get(Organization, invitation.organization_id) if invitation else None
    )
    if invitation is None or invitation.accepted_at is not None or organization is None:
        raise not_found("invitation")
    return invitation, organization


def describe(invitation: Invitation, now: datetime) -> InvitationOut:
    return InvitationOut(
        id=invitation.id,
        email=invitation.email,
        role=Role(invitation.role),
        status="expired" if invitation.expires_at <= now else "pending",
        invited_by=invitation.invited_by,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )
