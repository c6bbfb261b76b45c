"""Organisations and their members: creating, renaming, switching, leaving, deleting.

An organisation always keeps at least one owner, and only owners make or unmake owners.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service as admin
from gptapi.console.audit import record_change
from gptapi.console.deps import OrgContext, Viewer
from gptapi.console.errors import bad_request, conflict, forbidden, not_found
from gptapi.console.keys import service as keys
from gptapi.console.orgs import repository
from gptapi.console.orgs.schemas import MemberOut, OrganizationOut, OrganizationUpdate
from gptapi.console.permissions import Capability, Role, allows
from gptapi.models import Invitation, Membership, Organization, StoredResponse, User


async def my_organizations(session: AsyncSession, viewer: Viewer) -> list[OrganizationOut]:
    rows = await repository.memberships_of(session, viewer.user.id)
    selected = [m for _, m in rows if m.selected_at is not None]
    latest = max(selected, key=lambda m: m.selected_at or m.created_at, default=None)
    default_id = latest.organization_id if latest else (rows[0][0].id if rows else None)
    return [describe(org, Role(m.role), default=org.id == default_id) for org, m in rows]


async def as_seen_by_viewer(session: AsyncSession, ctx: OrgContext) -> OrganizationOut:
    mine = await my_organizations(session, ctx.viewer)
    return next(o for o in mine if o.id == ctx.organization.id)


async def create(
    session: AsyncSession, viewer: Viewer, name: str, now: datetime
) -> OrganizationOut:
    organization = await admin.create_organization(session, name, viewer.user)
    organization.created_at = now
    await session.flush()
    ctx = OrgContext(viewer, organization, Role.OWNER)
    record_change(
        session,
        ctx,
        "organization.create",
        target_type="organization",
        target_id=organization.id,
        data={"name": name},
    )
    return describe(organization, Role.OWNER, default=False)


def update(session: AsyncSession, ctx: OrgContext, body: OrganizationUpdate) -> None:
    organization = ctx.organization
    changes = body.model_dump(include=body.model_fields_set)
    if "name" in changes and changes["name"] is None:
        raise bad_request("name cannot be null.", param="name")
    changed: dict[str, object] = {}
    for field, value in changes.items():
        if getattr(organization, field) != value:
            changed[field] = {"from": getattr(organization, field), "to": value}
            setattr(organization, field, value)
    if changed:
        record_change(
            session,
            ctx,
            "organization.update",
            target_type="organization",
            target_id=organization.id,
            data=changed,
        )


async def delete_organization(session: AsyncSession, ctx: OrgContext, now: datetime) -> None:
    """Members, invitations, keys and stored responses go; the books (ledger, usage) stay
    for accounting."""
    organization = ctx.organization
    if organization.is_personal:
        raise conflict(
            "A personal organization cannot be deleted; delete your account instead.",
            code="personal_organization",
        )
    if organization.balance_nanos != 0:
        raise conflict(
            "The organization's balance is not zero; spend it, or ask support for a refund, "
            "before deleting the organization.",
            code="balance_not_zero",
        )
    await keys.revoke_all(session, ctx, now, reason="organization deleted")
    await session.execute(delete(Invitation).where(Invitation.organization_id == organization.id))
    await session.execute(delete(Membership).where(Membership.organization_id == organization.id))
    await session.execute(
        delete(StoredResponse).where(StoredResponse.organization_id == organization.id)
    )
    organization.deleted_at = now
    organization.is_active = False
    record_change(
        session,
        ctx,
        "organization.delete",
        target_type="organization",
        target_id=organization.id,
        data={"name": organization.name},
    )


async def select_default(session: AsyncSession, ctx: OrgContext, now: datetime) -> None:
    membership = await repository.membership(session, ctx.organization.id, ctx.viewer.user.id)
    assert membership is not None  # require() proved it
    membership.selected_at = now


async def list_members(session: AsyncSession, ctx: OrgContext) -> list[MemberOut]:
    return [
        MemberOut(
            user_id=user.id,
            email=user.email,
            name=user.name,
            role=Role(m.role),
            joined_at=m.created_at,
        )
        for m, user in await repository.members(session, ctx.organization.id)
    ]


async def change_role(
    session: AsyncSession, ctx: OrgContext, user_id: uuid.UUID, role: Role
) -> MemberOut:
    membership, user = await _member(session, ctx, user_id)
    old = Role(membership.role)
    if Role.OWNER in (old, role) and ctx.role is not Role.OWNER:
        raise forbidden("Only owners can make or unmake owners.")
    if old is Role.OWNER and role is not Role.OWNER:
        await _keep_an_owner(session, ctx.organization)
    if old is not role:
        membership.role = role.value
        record_change(
            session,
            ctx,
            "member.role_change",
            target_type="user",
            target_id=user_id,
            data={"email": user.email, "from": old.value, "to": role.value},
        )
    return MemberOut(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=role,
        joined_at=membership.created_at,
    )


async def remove_member(
    session: AsyncSession, ctx: OrgContext, user_id: uuid.UUID, now: datetime
) -> None:
    """Anyone may leave; removing someone else takes members.manage. The keys the member
    created stop working: they were theirs to hold, and they no longer belong here."""
    leaving = user_id == ctx.viewer.user.id
    if not leaving and not allows(ctx.role, Capability.MEMBERS_MANAGE):
        raise forbidden(f"Your role ({ctx.role}) does not allow members.manage.")
    membership, user = await _member(session, ctx, user_id)
    if membership.role == Role.OWNER:
        if not leaving and ctx.role is not Role.OWNER:
            raise forbidden("Only owners can remove an owner.")
        await _keep_an_owner(session, ctx.organization)
    revoked = await keys.revoke_all(
        session,
        ctx,
        now,
        reason="member left" if leaving else "member removed",
        created_by=user_id,
    )
    await session.delete(membership)
    record_change(
        session,
        ctx,
        "member.leave" if leaving else "member.remove",
        target_type="user",
        target_id=user_id,
        data={"email": user.email, "role": membership.role, "keys_revoked": len(revoked)},
    )


def describe(organization: Organization, role: Role, *, default: bool) -> OrganizationOut:
    return OrganizationOut(
        id=organization.id,
        name=organization.name,
        is_personal=organization.is_personal,
        role=role,
        default=default,
        default_rpm_limit=organization.default_rpm_limit,
        default_tpm_limit=organization.default_tpm_limit,
        created_at=organization.created_at,
    )


async def _member(
    session: AsyncSession, ctx: OrgContext, user_id: uuid.UUID
) -> tuple[Membership, User]:
    membership = await repository.membership(session, ctx.organization.id, user_id)
    user = await session.get(User, user_id) if membership else None
    if membership is None or user is None:
        raise not_found("member")
    return membership, user


async def _keep_an_owner(session: AsyncSession, organization: Organization) -> None:
    if await repository.owner_count(session, organization.id) <= 1:
        raise conflict(
            "An organization needs at least one owner: make someone else an owner first.",
            code="last_owner",
        )
