"""Operator tasks behind `gptapi admin`: users, organisations, keys, credit, servers, usage."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.gateway import announcements
from gptapi.gateway.upstream.fleet import normalize_url
from gptapi.kit.secrets import display_prefix, generate_api_key, hash_api_key
from gptapi.ledger import append_entry
from gptapi.models import (
    ApiKey,
    CreditTransaction,
    Membership,
    Model,
    Organization,
    Server,
    UsageLog,
    User,
)


class AdminError(Exception):
    """A problem with what the operator asked for, worded for the operator."""


async def create_user(
    session: AsyncSession,
    email: str,
    *,
    name: str = "",
    is_admin: bool = False,
    user_id: uuid.UUID | None = None,
) -> tuple[User, Organization]:
    """A user and their personal organisation, of which they are the owner. `user_id` is
    given when another system owns the identity (Supabase's auth.users.id)."""
    email = email.strip().lower()
    if "@" not in email:
        raise AdminError(f"{email!r} is not an email address")
    if await session.scalar(select(User.id).where(User.email == email)):
        raise AdminError(f"a user with email {email} already exists")
    user = User(email=email, name=name, is_admin=is_admin)
    if user_id is not None:
        user.id = user_id
    organization = Organization(name=f"{name or email}'s organization", is_personal=True)
    session.add_all([user, organization])
    await session.flush()
    session.add(Membership(organization_id=organization.id, user_id=user.id, role="owner"))
    return user, organization


async def create_organization(session: AsyncSession, name: str, owner: User) -> Organization:
    organization = Organization(name=name)
    session.add(organization)
    await session.flush()
    session.add(Membership(organization_id=organization.id, user_id=owner.id, role="owner"))
    return organization


async def find_user(session: AsyncSession, email: str) -> User:
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise AdminError(f"no user with email {email}")
    return user


async def find_organization(session: AsyncSession, ref: str) -> Organization:
    """By id, by exact name, or by a user's email (their personal organisation)."""
    try:
        organization = await session.get(Organization, uuid.UUID(ref))
    except ValueError:
        organization = None
    if organization is None and "@" in ref:
        user = await find_user(session, ref)
        organization = await session.scalar(
            select(Organization)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.user_id == user.id, Organization.is_personal.is_(True))
        )
    if organization is None:
        matches = (
            await session.scalars(select(Organization).where(Organization.name == ref))
        ).all()
        if len(matches) > 1:
            raise AdminError(f"several organisations are named {ref!r}; use the id")
        organization = matches[0] if matches else None
    if organization is None:
        raise AdminError(f"no organisation {ref!r}")
    return organization


async def owner_of(session: AsyncSession, organization: Organization) -> User:
    user = await session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == organization.id)
        .order_by(Membership.role != "owner", Membership.created_at)
    )
    if user is None:
        raise AdminError(f"organisation {organization.id} has no members")
    return user


async def create_key(
    session: AsyncSession,
    organization: Organization,
    user: User,
    *,
    name: str,
    rpm_limit: int | None = None,
    tpm_limit: int | None = None,
    expires_at: datetime | None = None,
    test_mode: bool = False,
    secret: str | None = None,
) -> tuple[ApiKey, str]:
    """The key row and its secret; the secret exists only in this return value. `secret`
    gives a key of another kind (a deployment key) its own form."""
    for limit in (rpm_limit, tpm_limit):
        if limit is not None and limit < 0:
            raise AdminError("limits are whole numbers ≥ 0 (0 means unlimited)")
    secret = secret or generate_api_key(test_mode=test_mode)
    key = ApiKey(
        organization_id=organization.id,
        user_id=user.id,
        name=name,
        key_prefix=display_prefix(secret),
        key_hash=hash_api_key(secret),
        rpm_limit=rpm_limit,
        tpm_limit=tpm_limit,
        expires_at=expires_at,
        test_mode=test_mode,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def revoke_key(session: AsyncSession, ref: str, *, now: datetime) -> ApiKey:
    try:
        key = await session.get(ApiKey, uuid.UUID(ref))
    except ValueError:
        key = await session.scalar(select(ApiKey).where(ApiKey.key_prefix == ref))
    if key is None:
        raise AdminError(f"no API key {ref!r} (give its id or its prefix)")
    key.revoked = True
    key.revoked_at = now
    announcements.revoked(session, [key.key_hash])
    return key


async def list_keys(session: AsyncSession, organization: Organization) -> list[ApiKey]:
    return list(
        (
            await session.scalars(
                select(ApiKey)
                .where(ApiKey.organization_id == organization.id)
                .order_by(ApiKey.created_at)
            )
        ).all()
    )


async def grant_credit(
    session: AsyncSession,
    organization: Organization,
    amount_nanos: int,
    *,
    reason: str,
    granted_by: User | None = None,
    idempotency_key: str | None = None,
) -> bool:
    if amount_nanos == 0:
        raise AdminError("the amount must not be zero")
    if not reason.strip():
        raise AdminError("a grant needs a reason")
    return await append_entry(
        session,
        organization_id=organization.id,
        amount_nanos=amount_nanos,
        kind="grant" if amount_nanos > 0 else "adjustment",
        idempotency_key=idempotency_key or f"grant:{uuid.uuid4()}",
        description=reason.strip(),
        created_by=granted_by.id if granted_by else None,
    )


@dataclass(frozen=True)
class BalanceRow:
    organization: Organization
    ledger_sum: int


async def balances(session: AsyncSession) -> list[BalanceRow]:
    sums = (
        select(
            CreditTransaction.organization_id, func.sum(CreditTransaction.amount_nanos).label("s")
        )
        .group_by(CreditTransaction.organization_id)
        .subquery()
    )
    rows = await session.execute(
        select(Organization, func.coalesce(sums.c.s, 0))
        .outerjoin(sums, sums.c.organization_id == Organization.id)
        .order_by(Organization.created_at)
    )
    return [BalanceRow(org, int(total)) for org, total in rows.all()]


@dataclass(frozen=True)
class UsageRow:
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_nanos: int
    images: int = 0


async def usage_by_model(
    session: AsyncSession, organization: Organization | None, since: datetime
) -> list[UsageRow]:
    statement = (
        select(
            Model.internal_name,
            func.count(UsageLog.id),
            func.coalesce(func.sum(UsageLog.prompt_tokens), 0),
            func.coalesce(func.sum(UsageLog.completion_tokens), 0),
            func.coalesce(func.sum(UsageLog.cost_nanos), 0),
            func.coalesce(func.sum(UsageLog.images), 0),
        )
        .join(Model, Model.id == UsageLog.model_id)
        .where(UsageLog.created_at >= since)
        .group_by(Model.internal_name)
        .order_by(Model.internal_name)
    )
    if organization is not None:
        statement = statement.where(UsageLog.organization_id == organization.id)
    rows = (await session.execute(statement)).all()
    return [
        UsageRow(str(name), int(requests), int(prompt), int(completion), int(cost), int(images))
        for name, requests, prompt, completion, cost, images in rows
    ]


async def add_server(session: AsyncSession, model: str, url: str, api_key: str | None) -> Server:
    if await session.scalar(select(Model.id).where(Model.internal_name == model)) is None:
        raise AdminError(f"no model {model!r}")
    try:
        base_url = normalize_url(url)
    except ValueError as exc:
        raise AdminError(str(exc)) from None
    existing = await session.scalar(
        select(Server).where(Server.model_name == model, Server.base_url == base_url)
    )
    if existing is not None:
        raise AdminError(f"{base_url} is already in the {model} pool")
    server = Server(model_name=model, base_url=base_url, api_key=api_key, source="admin")
    session.add(server)
    await session.flush()
    return server


async def set_server_state(session: AsyncSession, url: str, model: str | None, state: str) -> int:
    statement = update(Server).where(Server.base_url == url.rstrip("/")).values(state=state)
    if model:
        statement = statement.where(Server.model_name == model)
    result: CursorResult[Any] = await session.execute(statement)  # type: ignore[assignment]
    changed = result.rowcount
    if not changed:
        raise AdminError(f"no server {url}" + (f" in the {model} pool" if model else ""))
    return int(changed)


async def remove_server(session: AsyncSession, url: str, model: str | None) -> int:
    statement = select(Server).where(Server.base_url == url.rstrip("/"))
    if model:
        statement = statement.where(Server.model_name == model)
    rows = (await session.scalars(statement)).all()
    if not rows:
        raise AdminError(f"no server {url}" + (f" in the {model} pool" if model else ""))
    for row in rows:
        await session.delete(row)
    return len(rows)


async def list_servers(session: AsyncSession) -> list[Server]:
    return list(
        (await session.scalars(select(Server).order_by(Server.model_name, Server.id))).all()
    )
