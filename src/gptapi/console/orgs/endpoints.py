"""/api/orgs: organisations, members, invitations and the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from gptapi.console import audit
from gptapi.console.deps import (
    ConfirmedViewer,
    CurrentViewer,
    DbSession,
    OrgContext,
    State,
    require,
)
from gptapi.console.errors import ErrorBody
from gptapi.console.mail_queue import RequestMailQueue
from gptapi.console.orgs import invitations, service
from gptapi.console.orgs.schemas import (
    AuditEntryOut,
    AuditPage,
    InvitationCreate,
    InvitationOut,
    InvitationPreview,
    InvitationToken,
    MemberOut,
    MemberUpdate,
    OrganizationCreate,
    OrganizationOut,
    OrganizationUpdate,
)
from gptapi.console.permissions import Capability

router = APIRouter(tags=["organizations"])

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "Not possible in the current state (see code)."}
}

OrgRead = Annotated[OrgContext, Depends(require(Capability.ORG_READ))]
OrgUpdate = Annotated[OrgContext, Depends(require(Capability.ORG_UPDATE))]
OrgDelete = Annotated[OrgContext, Depends(require(Capability.ORG_DELETE))]
MembersRead = Annotated[OrgContext, Depends(require(Capability.MEMBERS_READ))]
MembersManage = Annotated[OrgContext, Depends(require(Capability.MEMBERS_MANAGE))]
AuditRead = Annotated[OrgContext, Depends(require(Capability.AUDIT_READ))]


@router.get("/orgs", summary="My organizations, with my role in each")
async def list_organizations(viewer: CurrentViewer, db: DbSession) -> list[OrganizationOut]:
    return await service.my_organizations(db, viewer)


@router.post("/orgs", status_code=201, summary="Create an organization (you become its owner)")
async def create_organization(
    body: OrganizationCreate, viewer: CurrentViewer, db: DbSession, state: State
) -> OrganizationOut:
    return await service.create(db, viewer, body.name, state.clock.now())


@router.get("/orgs/{org_id}", summary="One organization")
async def get_organization(ctx: OrgRead, db: DbSession) -> OrganizationOut:
    return await service.as_seen_by_viewer(db, ctx)


@router.patch("/orgs/{org_id}", summary="Rename an organization or change its default limits")
async def update_organization(
    ctx: OrgUpdate, body: OrganizationUpdate, db: DbSession
) -> OrganizationOut:
    service.update(db, ctx, body)
    return await get_organization(ctx, db)


@router.delete(
    "/orgs/{org_id}",
    status_code=204,
    summary="Delete an organization (owner; zero balance; revokes its keys)",
    responses=CONFLICT,
)
async def delete_organization(
    ctx: OrgDelete, _: ConfirmedViewer, db: DbSession, state: State
) -> Response:
    await service.delete_organization(db, ctx, state.clock.now())
    return Response(status_code=204)


@router.put(
    "/orgs/{org_id}/default",
    status_code=204,
    summary="Switch to this organization: the console opens here next time",
)
async def select_organization(ctx: OrgRead, db: DbSession, state: State) -> Response:
    await service.select_default(db, ctx, state.clock.now())
    return Response(status_code=204)


@router.get("/orgs/{org_id}/members", tags=["members"], summary="Members and their roles")
async def list_members(ctx: MembersRead, db: DbSession) -> list[MemberOut]:
    return await service.list_members(db, ctx)


@router.patch(
    "/orgs/{org_id}/members/{user_id}",
    tags=["members"],
    summary="Change a member's role (only owners grant or take away owner)",
    responses=CONFLICT,
)
async def change_member_role(
    ctx: MembersManage, user_id: uuid.UUID, body: MemberUpdate, db: DbSession
) -> MemberOut:
    return await service.change_role(db, ctx, user_id, body.role)


@router.delete(
    "/orgs/{org_id}/members/{user_id}",
    status_code=204,
    tags=["members"],
    summary="Remove a member, or leave when it is yourself (their keys are revoked)",
    responses=CONFLICT,
)
async def remove_member(ctx: OrgRead, user_id: uuid.UUID, db: DbSession, state: State) -> Response:
    await service.remove_member(db, ctx, user_id, state.clock.now())
    return Response(status_code=204)


@router.get("/orgs/{org_id}/invitations", tags=["members"], summary="Pending invitations")
async def list_invitations(ctx: MembersManage, db: DbSession, state: State) -> list[InvitationOut]:
    return await invitations.pending(db, ctx, state.clock.now())


@router.post(
    "/orgs/{org_id}/invitations",
    status_code=201,
    tags=["members"],
    summary="Invite someone by email (re-inviting sends a fresh link)",
    responses=CONFLICT,
)
async def create_invitation(
    ctx: MembersManage,
    body: InvitationCreate,
    db: DbSession,
    state: State,
    mail_queue: RequestMailQueue,
) -> InvitationOut:
    invitation, token = await invitations.invite(db, ctx, body, state.clock.now())
    link = f"{state.settings.base_url}/invite?token={token}"
    inviter = ctx.viewer.user.name or ctx.viewer.user.email
    mail_queue.send(invitations.invitation_mail(ctx.organization, inviter, invitation.email, link))
    return invitation


@router.delete(
    "/orgs/{org_id}/invitations/{invitation_id}",
    status_code=204,
    tags=["members"],
    summary="Cancel a pending invitation",
)
async def cancel_invitation(
    ctx: MembersManage, invitation_id: uuid.UUID, db: DbSession
) -> Response:
    await invitations.cancel(db, ctx, invitation_id)
    return Response(status_code=204)


@router.post(
    "/invitations/preview",
    tags=["members"],
    summary="What an invitation link offers (no sign-in needed; the token is the secret)",
)
async def preview_invitation(
    body: InvitationToken, db: DbSession, state: State
) -> InvitationPreview:
    return await invitations.preview(db, body.token, state.clock.now())


@router.post(
    "/invitations/accept",
    tags=["members"],
    summary="Accept an invitation with the token from its link",
    responses={
        **CONFLICT,
        410: {"model": ErrorBody, "description": "The invitation has expired."},
    },
)
async def accept_invitation(
    body: InvitationToken, viewer: CurrentViewer, db: DbSession, state: State
) -> OrganizationOut:
    organization, role = await invitations.accept(db, viewer, body.token, state.clock.now())
    return service.describe(organization, role, default=False)


@router.get(
    "/orgs/{org_id}/audit-log",
    tags=["audit"],
    summary="Who changed what in this organization, newest first",
)
async def audit_log(
    ctx: AuditRead,
    db: DbSession,
    cursor: Annotated[
        str | None, Query(pattern=r"^[0-9]{1,18}$", description="`next_cursor` of the last page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    where = audit.AuditFilter(organization_id=ctx.organization.id)
    entries, next_cursor = await audit.page(db, where, cursor, limit, AuditEntryOut)
    return AuditPage(data=entries, next_cursor=next_cursor)
