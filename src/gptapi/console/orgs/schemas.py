"""Request and response bodies of the organisation endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from gptapi.console.fields import PRINTABLE, NewEmail
from gptapi.console.permissions import Role

# Printable only: the name goes into mail subjects (invitations), which are one line.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE),
]
# NULL: the platform default; 0: unlimited.
Limit = Annotated[int, Field(ge=0, le=2_000_000_000)]


class OrganizationOut(BaseModel):
    id: uuid.UUID
    name: str
    is_personal: bool
    role: Role
    default: bool = Field(description="Where the console opens: the last organisation switched to.")
    default_rpm_limit: int | None
    default_tpm_limit: int | None
    created_at: datetime


class OrganizationCreate(BaseModel):
    name: Name


class OrganizationUpdate(BaseModel):
    """Only the fields sent change; send null for a limit to fall back to the platform's."""

    name: Name | SkipJsonSchema[None] = None  # may be left out, not cleared
    default_rpm_limit: Limit | None = None
    default_tpm_limit: Limit | None = None


class MemberOut(BaseModel):
    user_id: uuid.UUID
    email: str
    name: str
    role: Role
    joined_at: datetime


class MemberUpdate(BaseModel):
    role: Role


class InvitationCreate(BaseModel):
    email: NewEmail
    role: Role


class InvitationOut(BaseModel):
    id: uuid.UUID
    email: str
    role: Role
    status: Literal["pending", "expired"]
    invited_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime


class InvitationToken(BaseModel):
    token: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class InvitationPreview(BaseModel):
    """What the invitation page shows before the invitee accepts."""

    organization_name: str
    email: str
    role: Role
    status: Literal["pending", "expired"]
    expires_at: datetime


class AuditEntryOut(BaseModel):
    id: int
    action: str
    actor_user_id: uuid.UUID | None
    actor_email: str | None
    target_type: str
    target_id: str
    data: dict[str, Any]
    ip: str
    created_at: datetime


class AuditPage(BaseModel):
    data: list[AuditEntryOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page."
    )
