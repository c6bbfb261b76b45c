"""Signing in (password, then a second factor when enabled) and the "confirm it's you" step
that sensitive actions need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gptapi.console.auth import tokens, two_factor
from gptapi.console.auth.context import AuthContext
from gptapi.console.auth.passwords import hash_password, needs_rehash, verify_password
from gptapi.console.auth.tokens import Purpose
from gptapi.console.deps import REAUTH_WINDOW, Viewer
from gptapi.console.errors import ApiError, conflict, forbidden
from gptapi.models import User


@dataclass(frozen=True)
class PasswordChecked:
    user: User
    # Set when a second factor is still needed; the session starts only after it.
    challenge: str | None = None


async def check_password(auth: AuthContext, email: str, password: str) -> PasswordChecked:
    checks = auth.guess_limits(email)
    await auth.attempt(checks)
    user = await auth.active_user(email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise ApiError(401, "invalid_credentials", "Wrong email or password.")
    await auth.passed(email)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if user.email_verified_at is None:
        raise forbidden(
            "Verify your email address first: follow the link we sent you, or ask for a new one.",
            code="email_not_verified",
        )
    if two_factor.enabled(user):
        return PasswordChecked(
            user, await tokens.issue(auth.db, user, Purpose.MFA_CHALLENGE, auth.now)
        )
    return PasswordChecked(user)


async def check_second_factor(
    auth: AuthContext, challenge: str, code: str | None, recovery_code: str | None
) -> User:
    row = await tokens.find(auth.db, challenge, Purpose.MFA_CHALLENGE, auth.now)
    user = await auth.db.get(User, row.user_id) if row is not None else None
    if row is None or user is None or not user.is_active:
        raise ApiError(
            401, "invalid_challenge", "This sign-in has expired; enter your password again."
        )
    checks = auth.guess_limits(user.email)
    await auth.attempt(checks)
    if not await _second_factor_matches(auth, user, code, recovery_code):
        if code is not None and two_factor.already_used(user, auth.secret_key, code, auth.now):
            raise ApiError(
                401,
                "code_already_used",
                "That code was just used. Wait for the next code from your app, then enter it.",
            )
        raise ApiError(401, "invalid_code", "That code is not valid.")
    await auth.db.delete(row)
    await auth.passed(user.email)
    return user


async def _second_factor_matches(
    auth: AuthContext, user: User, code: str | None, recovery_code: str | None
) -> bool:
    if code is not None:
        return two_factor.verify_code(user, auth.secret_key, code, auth.now)
    return recovery_code is not None and await two_factor.use_recovery_code(
        auth.db, user, recovery_code
    )


async def confirm(
    auth: AuthContext, viewer: Viewer, password: str | None, code: str | None
) -> datetime:
    """Mark the session as just re-authenticated; returns until when that holds."""
    if viewer.session is None:
        raise conflict(
            "Confirm through your identity provider instead.", code="confirmation_not_supported"
        )
    user = viewer.user
    if password is not None and user.password_hash is None:
        raise conflict(
            "Your account has no password: confirm with a 2FA code, or sign in again with your "
            "provider.",
            code="no_password",
        )
    checks = auth.guess_limits(user.email)
    await auth.attempt(checks)
    if password is not None:
        matches = verify_password(user.password_hash, password)
    else:
        matches = two_factor.enabled(user) and two_factor.verify_code(
            user, auth.secret_key, code or "", auth.now
        )
    if not matches:
        raise forbidden("That password or code is not right.", code="invalid_credentials")
    await auth.passed(user.email)
    viewer.session.reauthenticated_at = auth.now
    return auth.now + REAUTH_WINDOW
