"""Who is signed in, as the web console shows it."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from gptapi.console.fields import Name


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    email_verified: bool
    totp_enabled: bool
    has_password: bool
    is_admin: bool
    created_at: datetime


class OrganizationMembership(BaseModel):
    id: uuid.UUID
    name: str
    role: str
    is_personal: bool
    is_active: bool


class Me(BaseModel):
    user: UserOut
    # What the console reports product analytics under (with consent): a keyed hash of the
    # user id, unlinkable to the person without the server's secret.
    analytics_id: str
    organizations: list[OrganizationMembership]


class UpdateMe(BaseModel):
    name: Name
