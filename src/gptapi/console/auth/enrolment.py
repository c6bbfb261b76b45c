"""Turning two-factor auth on and off, and replacing recovery codes."""

from __future__ import annotations

from dataclasses import dataclass

from gptapi.console.auth import mails, two_factor
from gptapi.console.auth.context import AuthContext
from gptapi.console.errors import ApiError, conflict, forbidden
from gptapi.models import User


def _already_on() -> ApiError:
    return conflict("Two-factor auth is already on.", code="totp_already_enabled")


def _not_on() -> ApiError:
    return conflict("Two-factor auth is not on.", code="totp_not_enabled")


@dataclass(frozen=True)
class PendingSecret:
    secret: str
    otpauth_uri: str


def start(auth: AuthContext, user: User) -> PendingSecret:
    """A new secret, stored but not in force until `enable` sees a code made from it."""
    if two_factor.enabled(user):
        raise _already_on()
    secret = two_factor.new_secret()
    user.totp_secret = two_factor.encrypt_secret(auth.secret_key, secret)
    user.totp_last_step = None
    return PendingSecret(secret, two_factor.provisioning_uri(secret, user.email))


async def enable(auth: AuthContext, user: User, code: str) -> list[str]:
    if two_factor.enabled(user):
        raise _already_on()
    if user.totp_secret is None:
        raise conflict("Start with POST /api/auth/2fa/setup.", code="totp_not_set_up")
    checks = auth.guess_limits(user.email)
    await auth.attempt(checks)
    if not two_factor.verify_code(user, auth.secret_key, code, auth.now):
        raise forbidden("That code is not valid.", code="invalid_code")
    await auth.passed()
    user.totp_enabled_at = auth.now
    codes = await two_factor.replace_recovery_codes(auth.db, user)
    auth.audit("user.2fa_enabled", user)
    auth.mail_queue.send(
        mails.notice(
            user.email,
            "Two-factor auth is on",
            "Signing in to your GPT API account now needs a code from your authenticator app.",
        )
    )
    return codes


async def disable(auth: AuthContext, user: User) -> None:
    if not two_factor.enabled(user):
        raise _not_on()
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    await two_factor.delete_recovery_codes(auth.db, user)
    auth.audit("user.2fa_disabled", user)
    auth.mail_queue.send(
        mails.notice(
            user.email,
            "Two-factor auth is off",
            "Signing in to your GPT API account no longer needs a code from an authenticator app.",
        )
    )


async def replace_recovery_codes(auth: AuthContext, user: User) -> list[str]:
    if not two_factor.enabled(user):
        raise _not_on()
    codes = await two_factor.replace_recovery_codes(auth.db, user)
    auth.audit("user.recovery_codes_replaced", user)
    return codes
