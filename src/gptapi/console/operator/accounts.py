"""Users and organisations: finding them, suspending them, and granting credit.

A suspended user cannot sign in (their sessions end at once) and their keys stop working; a
suspended organisation's keys are refused. The gateway trusts a key it has verified for
`key_cache_ttl_seconds` (it re-reads the key, its user and its organisation after that), so
a suspension reaches every gateway within that time.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from gptapi.admin import service as admin_service
from gptapi.console import audit
from gptapi.console.auth.sessions import end_all_sessions
from gptapi.console.deps import Viewer
from gptapi.console.errors import bad_request, conflict
from gptapi.console.operator.schemas import (
    CreditGrant,
    CreditGrantOut,
    OrganizationOut,
    OrganizationPage,
    UserOut,
    UserPage,
)
from gptapi.console.rows import get_or_404
from gptapi.console.usage.money import usd
from gptapi.kit import cursor as keyset
from gptapi.kit.money import dollars_to_nanos
from gptapi.models import CreditTransaction, Membership, Organization, User

# Namespaces the client's Idempotency-Key among the ledger's other keys.
GRANT_KEY_PREFIX = "operator-grant:"

Row = TypeVar("Row", User, Organization)


def _page(
    statement: Select[Row],
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    cursor: str | None,
    limit: int,
) -> Select[Row]:
    """Newest first, after the row `cursor` names."""
    if cursor is not None:
        try:
            moment, last_id = keyset.decode(cursor)
            last = uuid.UUID(last_id)
        except ValueError:
            raise bad_request("Not a cursor from this API.", param="cursor") from None
        statement = statement.where(
            created_at <= moment,
            or_(created_at < moment, and_(created_at == moment, row_id < last)),
        )
    return statement.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)


def _next_cursor(rows: list[Any], limit: int) -> str | None:
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return keyset.encode(last.created_at, last.id)


def _contains(column: InstrumentedAttribute[str], query: str) -> ColumnElement[bool]:
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        is_admin=user.is_admin,
        is_active=user.is_active,
        email_verified=user.email_verified_at is not None,
        created_at=user.created_at,
    )


def organization_out(organization: Organization, owner_email: str | None = None) -> OrganizationOut:
    return OrganizationOut(
        id=organization.id,
        name=organization.name,
        is_personal=organization.is_personal,
        is_active=organization.is_active,
        balance_nanos=organization.balance_nanos,
        balance_usd=usd(organization.balance_nanos),
        created_at=organization.created_at,
        owner_email=owner_email,
    )


async def _owner_emails(db: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each organisation's earliest owner."""
    rows = await db.execute(
        select(Membership.organization_id, User.email)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id.in_(ids), Membership.role == "owner")
        .order_by(Membership.created_at.desc())
    )
    return dict(rows.tuples().all())  # newest first, so the earliest owner is kept


async def list_users(
    db: AsyncSession, query: str | None, cursor: str | None, limit: int
) -> UserPage:
    statement = select(User)
    if query:
        statement = statement.where(or_(_contains(User.email, query), _contains(User.name, query)))
    rows = list((await db.scalars(_page(statement, User.created_at, User.id, cursor, limit))).all())
    return UserPage(data=[user_out(u) for u in rows[:limit]], next_cursor=_next_cursor(rows, limit))


async def list_organizations(
    db: AsyncSession, query: str | None, cursor: str | None, limit: int
) -> OrganizationPage:
    statement = select(Organization)
    if query:
        statement = statement.where(_contains(Organization.name, query))
    page = _page(statement, Organization.created_at, Organization.id, cursor, limit)
    rows = list((await db.scalars(page)).all())
    owners = await _owner_emails(db, [o.id for o in rows[:limit]])
    return OrganizationPage(
        data=[organization_out(o, owners.get(o.id)) for o in rows[:limit]],
        next_cursor=_next_cursor(rows, limit),
    )


async def set_user_active(
    db: AsyncSession, user_id: uuid.UUID, active: bool, admin: Viewer
) -> User:
    user = await get_or_404(db, User, user_id, "user")
    if user.id == admin.user.id and not active:
        raise bad_request("You cannot suspend yourself.", code="cannot_suspend_self")
    if user.is_active != active:
        user.is_active = active
        if not active:
            await end_all_sessions(db, user.id)
        audit.record_operator_change(
            db,
            admin,
            "user.unsuspend" if active else "user.suspend",
            target_type="user",
            target_id=user.id,
            data={"email": user.email},
        )
    return user


async def find_organization(db: AsyncSession, organization_id: uuid.UUID) -> Organization:
    return await get_or_404(db, Organization, organization_id, "organization")


async def set_organization_active(
    db: AsyncSession, organization_id: uuid.UUID, active: bool, admin: Viewer
) -> Organization:
    organization = await find_organization(db, organization_id)
    if organization.is_active != active:
        organization.is_active = active
        audit.record_operator_change(
            db,
            admin,
            "organization.unsuspend" if active else "organization.suspend",
            organization_id=organization.id,
            target_type="organization",
            target_id=organization.id,
        )
    return organization


async def grant_credit(
    db: AsyncSession,
    organization_id: uuid.UUID,
    body: CreditGrant,
    idempotency_key: str,
    admin: Viewer,
) -> CreditGrantOut:
    """Append one ledger entry; a replay of the same key applies nothing and says so, and
    the same key with a different grant is refused."""
    organization = await find_organization(db, organization_id)
    amount = dollars_to_nanos(body.amount_usd)
    if amount == 0:
        raise bad_request("The amount must not be zero.", param="amount_usd")
    if not body.reason.strip():
        raise bad_request("Say why this credit is granted.", param="reason")
    ledger_key = GRANT_KEY_PREFIX + idempotency_key
    earlier = await db.scalar(
        select(CreditTransaction).where(CreditTransaction.idempotency_key == ledger_key)
    )
    if earlier is not None:
        if earlier.organization_id != organization.id or earlier.amount_nanos != amount:
            raise conflict(
                "This Idempotency-Key was used for a different grant.", code="idempotency_conflict"
            )
        applied = False
    else:
        try:
            applied = await admin_service.grant_credit(
                db,
                organization,
                amount,
                reason=body.reason.strip(),
                granted_by=admin.user,
                idempotency_key=ledger_key,
            )
        except IntegrityError:  # the same key, applied by a concurrent request
            raise conflict(
                "A grant with this Idempotency-Key is being applied; retry to see it.",
                code="idempotency_conflict",
            ) from None
        audit.record_operator_change(
            db,
            admin,
            "credit.grant",
            organization_id=organization.id,
            target_type="organization",
            target_id=organization.id,
            data={
                "amount_nanos": amount,
                "reason": body.reason.strip(),
                "idempotency_key": ledger_key,
            },
        )
    await db.refresh(organization, ["balance_nanos"])
    return CreditGrantOut(
        applied=applied,
        idempotency_key=idempotency_key,
        amount_nanos=amount,
        amount_usd=usd(amount),
        balance_nanos=organization.balance_nanos,
        balance_usd=usd(organization.balance_nanos),
    )
