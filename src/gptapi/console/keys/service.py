"""Creating, changing and revoking API keys; every change is audited, creation and revocation
also become webhook events. The gateway sees a change when its key cache next reloads the key
(KEY_CACHE_TTL_SECONDS)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi import outbox
from gptapi.admin import service as admin
from gptapi.console.audit import record_change
from gptapi.console.deps import OrgContext
from gptapi.console.errors import bad_request, conflict, forbidden, not_found
from gptapi.console.keys import repository
from gptapi.console.keys.schemas import KeyCreate, KeyCreated, KeyOut, KeyStatus, KeyUpdate
from gptapi.gateway import announcements
from gptapi.kit.clock import month_start, rfc3339
from gptapi.kit.key_scopes import Scope, scopes_of, stored_form
from gptapi.models import ApiKey
from gptapi.usage_sums import cost_by_key

_EDITABLE = (
    "name",
    "expires_at",
    "rpm_limit",
    "tpm_limit",
    "monthly_spend_cap_nanos",
    "allowed_models",
    "scopes",
)


async def list_keys(session: AsyncSession, ctx: OrgContext, now: datetime) -> list[KeyOut]:
    spend = await cost_by_key(session, ctx.organization.id, month_start(now), now)
    rows = await repository.keys_with_creators(session, ctx.organization.id)
    return [describe(key, email, spend.get(key.id, 0), now) for key, email in rows]


async def get_key(session: AsyncSession, ctx: OrgContext, key_id: uuid.UUID) -> ApiKey:
    key = await repository.key_in(session, ctx.organization.id, key_id)
    if key is None:
        raise not_found("API key")
    return key


async def create(
    session: AsyncSession, ctx: OrgContext, body: KeyCreate, now: datetime
) -> KeyCreated:
    await _check(session, body.expires_at, body.allowed_models, now)
    _check_scopes(ctx, body.scopes, test_mode=body.mode == "test")
    key, secret = await admin.create_key(
        session,
        ctx.organization,
        ctx.viewer.user,
        name=body.name,
        rpm_limit=body.rpm_limit,
        tpm_limit=body.tpm_limit,
        expires_at=body.expires_at,
        test_mode=body.mode == "test",
    )
    key.monthly_spend_cap_nanos = body.monthly_spend_cap_nanos
    key.allowed_models = _normalized(body.allowed_models)
    key.scopes = stored_form(body.scopes)
    key.created_at = now
    await session.flush()
    record_change(
        session, ctx, "api_key.create", target_type="api_key", target_id=key.id, data=_settings(key)
    )
    await outbox.emit(
        session,
        organization_id=ctx.organization.id,
        event_type="api_key.created",
        data={
            "organization_id": str(ctx.organization.id),
            "api_key_id": str(key.id),
            "name": key.name,
            "prefix": key.key_prefix,
            "mode": "test" if key.test_mode else "live",
            "scopes": stored_form(scopes_of(key.scopes)),
            "created_by": str(ctx.viewer.user.id),
            "created_at": rfc3339(now),
        },
    )
    out = describe(key, ctx.viewer.user.email, 0, now)
    return KeyCreated(**out.model_dump(), secret=secret)


async def update(
    session: AsyncSession, ctx: OrgContext, key: ApiKey, body: KeyUpdate, now: datetime
) -> None:
    if key.revoked:
        raise conflict("This key is revoked; create a new one instead.", code="key_revoked")
    changes = {field: getattr(body, field) for field in _EDITABLE if field in body.model_fields_set}
    for field in ("name", "scopes"):
        if field in changes and changes[field] is None:
            raise bad_request(f"{field} cannot be null.", param=field)
    await _check(session, changes.get("expires_at"), changes.get("allowed_models"), now)
    if "allowed_models" in changes:
        changes["allowed_models"] = _normalized(changes["allowed_models"])
    if "scopes" in changes:
        _check_scopes(ctx, changes["scopes"], test_mode=key.test_mode)
        changes["scopes"] = stored_form(changes["scopes"])
    before = _settings(key)
    for field, value in changes.items():
        setattr(key, field, value)
    after = _settings(key)
    changed = {f: {"from": before[f], "to": after[f]} for f in after if before[f] != after[f]}
    if changed:
        record_change(
            session, ctx, "api_key.update", target_type="api_key", target_id=key.id, data=changed
        )


async def revoke(
    session: AsyncSession, ctx: OrgContext, key: ApiKey, now: datetime, *, reason: str
) -> None:
    """Idempotent: revoking a revoked key changes nothing."""
    if key.revoked:
        return
    key.revoked = True
    key.revoked_at = now
    announcements.revoked(session, [key.key_hash])
    record_change(
        session,
        ctx,
        "api_key.revoke",
        target_type="api_key",
        target_id=key.id,
        data={"name": key.name, "prefix": key.key_prefix, "reason": reason},
    )
    await outbox.emit(
        session,
        organization_id=key.organization_id,
        event_type="api_key.revoked",
        data={
            "organization_id": str(key.organization_id),
            "api_key_id": str(key.id),
            "name": key.name,
            "prefix": key.key_prefix,
            "revoked_by": str(ctx.viewer.user.id),
            "revoked_at": rfc3339(now),
        },
    )


async def revoke_all(
    session: AsyncSession,
    ctx: OrgContext,
    now: datetime,
    *,
    reason: str,
    created_by: uuid.UUID | None = None,
) -> Sequence[ApiKey]:
    keys = await repository.live_keys(session, ctx.organization.id, created_by=created_by)
    for key in keys:
        await revoke(session, ctx, key, now, reason=reason)
    return keys


async def key_out(
    session: AsyncSession, ctx: OrgContext, key_id: uuid.UUID, now: datetime
) -> KeyOut:
    key = await get_key(session, ctx, key_id)
    spend = await cost_by_key(session, key.organization_id, month_start(now), now, key_id=key.id)
    email = await repository.creator_email(session, key.user_id)
    return describe(key, email, spend.get(key.id, 0), now)


def describe(key: ApiKey, creator_email: str | None, spend: int, now: datetime) -> KeyOut:
    return KeyOut(
        id=key.id,
        name=key.name,
        prefix=key.key_prefix,
        mode="test" if key.test_mode else "live",
        status=_status(key, now),
        created_at=key.created_at,
        created_by=key.user_id,
        created_by_email=creator_email,
        last_used_at=key.last_used_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        rpm_limit=key.rpm_limit,
        tpm_limit=key.tpm_limit,
        monthly_spend_cap_nanos=key.monthly_spend_cap_nanos,
        allowed_models=key.allowed_models,
        scopes=sorted(scopes_of(key.scopes)),
        month_to_date_spend_nanos=spend,
    )


def _status(key: ApiKey, now: datetime) -> KeyStatus:
    if key.revoked:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


async def _check(
    session: AsyncSession, expires_at: datetime | None, models: list[str] | None, now: datetime
) -> None:
    if expires_at is not None and expires_at <= now:
        raise bad_request("expires_at must be in the future.", param="expires_at")
    if models:
        unknown = await repository.unknown_models(session, models)
        if unknown:
            raise bad_request(
                f"No such model: {', '.join(unknown)}. Use ids from GET /v1/models.",
                param="allowed_models",
                code="unknown_model",
            )


def _check_scopes(ctx: OrgContext, scopes: list[Scope], *, test_mode: bool) -> None:
    if test_mode and set(scopes) != {Scope.INFERENCE}:
        # A test key is never charged; deployments would spend the real balance.
        raise bad_request("A test-mode key has the inference scope only.", param="scopes")
    granter = ctx.viewer.key
    if granter is not None:
        beyond = set(scopes) - granter.scopes
        if beyond:
            # A key hands out no more than it holds.
            raise forbidden(
                "An API key cannot grant scopes it lacks: "
                + ", ".join(sorted(s.value for s in beyond))
                + ".",
                code="insufficient_scope",
            )


def _normalized(models: list[str] | None) -> list[str] | None:
    return None if models is None else sorted(set(models))


def _settings(key: ApiKey) -> dict[str, Any]:
    return {
        "name": key.name,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "rpm_limit": key.rpm_limit,
        "tpm_limit": key.tpm_limit,
        "monthly_spend_cap_nanos": key.monthly_spend_cap_nanos,
        "allowed_models": key.allowed_models,
        "scopes": key.scopes,
    }
