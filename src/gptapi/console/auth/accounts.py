"""Local accounts: sign-up, email verification, password reset and change, email change.

Anything reachable without signing in answers the same whether or not the address has an
account, and does about the same work (a password is hashed either way)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gptapi.admin import service as admin
from gptapi.console.auth import mails, throttle, tokens
from gptapi.console.auth.context import AuthContext, normalize_email
from gptapi.console.auth.passwords import check_policy, hash_password, verify_password
from gptapi.console.auth.sessions import end_all_sessions
from gptapi.console.auth.tokens import Purpose
from gptapi.console.auth.welcome import grant_signup_credit
from gptapi.console.deps import Viewer
from gptapi.console.errors import ApiError, conflict, forbidden
from gptapi.models import User


def invalid_token() -> ApiError:
    # 404: there is no such pending link (any more).
    return ApiError(
        404,
        "invalid_token",
        "This link is invalid, expired or already used; ask for a new one.",
        param="token",
    )


async def sign_up(auth: AuthContext, email: str, password: str, name: str) -> None:
    email = normalize_email(email)
    check_policy(password, email)
    password_hash = hash_password(password)
    if await auth.db.scalar(select(User.id).where(User.email == email)) is not None:
        if await auth.may_mail(email):
            auth.mail_queue.send(mails.already_registered(email, auth.settings.base_url))
        return
    try:
        user, _ = await admin.create_user(auth.db, email, name=name.strip())
    except (IntegrityError, admin.AdminError):
        # Signed up twice at the same moment: the other request made the account.
        await auth.db.rollback()
        return
    user.password_hash = password_hash
    user.password_changed_at = auth.now
    auth.audit("user.signup", user)
    token = await tokens.issue(auth.db, user, Purpose.VERIFY_EMAIL, auth.now)
    if await auth.may_mail(email):
        auth.mail_queue.send(mails.verify_email(email, auth.settings.base_url, token))


async def resend_verification(auth: AuthContext, email: str) -> None:
    user = await auth.active_user(email)
    if user is None or user.email_verified_at is not None or not await auth.may_mail(user.email):
        return
    token = await tokens.issue(auth.db, user, Purpose.VERIFY_EMAIL, auth.now)
    auth.mail_queue.send(mails.verify_email(user.email, auth.settings.base_url, token))


async def _redeem(auth: AuthContext, token: str, purpose: Purpose) -> tuple[User, str]:
    """The user a token belongs to and the address it carries; the token is used up. Wrong
    tokens count against the caller's address."""
    ip_check = [(throttle.ADDRESS_FAILURES, auth.ip)]
    await auth.attempt(ip_check)
    row = await tokens.find(auth.db, token, purpose, auth.now)
    user = await auth.db.get(User, row.user_id) if row is not None else None
    if row is None or user is None or not user.is_active:
        raise invalid_token()
    await auth.passed()
    new_email = row.new_email
    await auth.db.delete(row)
    return user, new_email


async def verify_email(auth: AuthContext, token: str) -> User:
    user, _ = await _redeem(auth, token, Purpose.VERIFY_EMAIL)
    user.email_verified_at = user.email_verified_at or auth.now
    await grant_signup_credit(auth.db, auth.settings, user)
    return user


async def forgot_password(auth: AuthContext, email: str) -> None:
    user = await auth.active_user(email)
    if user is None or not await auth.may_mail(user.email):
        return
    token = await tokens.issue(auth.db, user, Purpose.RESET_PASSWORD, auth.now)
    auth.mail_queue.send(mails.reset_password(user.email, auth.settings.base_url, token))


async def reset_password(auth: AuthContext, token: str, password: str) -> None:
    user, _ = await _redeem(auth, token, Purpose.RESET_PASSWORD)
    # A rejected password rolls the request back, so the link still works for a better one.
    check_policy(password, user.email)
    await _set_password(auth, user, password, keep_session=None)
    # Following the link proved the mailbox is theirs.
    user.email_verified_at = user.email_verified_at or auth.now
    await grant_signup_credit(auth.db, auth.settings, user)
    await auth.passed(user.email)
    auth.audit("user.password_reset", user)


async def change_password(
    auth: AuthContext, viewer: Viewer, current_password: str, new_password: str
) -> None:
    user = viewer.user
    checks = auth.guess_limits(user.email)
    await auth.attempt(checks)
    if not verify_password(user.password_hash, current_password):
        raise forbidden("The current password is wrong.", code="invalid_credentials")
    await auth.passed()
    check_policy(new_password, user.email)
    await _set_password(
        auth, user, new_password, keep_session=viewer.session.id if viewer.session else None
    )
    auth.audit("user.password_changed", user)


async def _set_password(
    auth: AuthContext, user: User, password: str, *, keep_session: str | None
) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = auth.now
    await tokens.revoke(auth.db, user, Purpose.RESET_PASSWORD)
    await tokens.revoke(auth.db, user, Purpose.MFA_CHALLENGE)
    await end_all_sessions(auth.db, user.id, keep=keep_session)
    auth.mail_queue.send(
        mails.notice(
            user.email,
            "Your password was changed",
            "The password of your GPT API account was just changed, and other devices were "
            "signed out.",
        )
    )


async def request_email_change(auth: AuthContext, user: User, new_email: str) -> None:
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise conflict("That is already your address.", code="email_unchanged")
    if not await auth.may_mail(new_email):
        return
    if await auth.db.scalar(select(User.id).where(User.email == new_email)) is not None:
        auth.mail_queue.send(mails.email_taken(new_email))
        return
    token = await tokens.issue(auth.db, user, Purpose.CHANGE_EMAIL, auth.now, new_email=new_email)
    auth.mail_queue.send(mails.confirm_new_email(new_email, auth.settings.base_url, token))


async def confirm_email_change(auth: AuthContext, token: str) -> User:
    user, new_email = await _redeem(auth, token, Purpose.CHANGE_EMAIL)
    if await auth.db.scalar(select(User.id).where(User.email == new_email)) is not None:
        raise conflict("That address now belongs to another account.", code="email_taken")
    old_email = user.email
    user.email = new_email
    user.email_verified_at = auth.now
    # A reset link mailed to the old address must not outlive the move.
    await tokens.revoke(auth.db, user, Purpose.RESET_PASSWORD)
    auth.audit("user.email_changed", user)
    auth.mail_queue.send(
        mails.notice(
            old_email,
            "Your email address was changed",
            f"Your GPT API account now uses {new_email} instead of this address.",
        )
    )
    return user
