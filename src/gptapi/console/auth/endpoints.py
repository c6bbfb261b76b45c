"""/api/auth: local accounts, sessions and the "confirm it's you" step."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from gptapi.console.auth import accounts, signin
from gptapi.console.auth.context import Auth
from gptapi.console.auth.schemas import (
    ChangeEmail,
    ChangePassword,
    Confirm,
    Confirmed,
    ConfirmWithCode,
    ConfirmWithPassword,
    EmailOnly,
    EmailVerified,
    Notice,
    ResetPassword,
    SessionOut,
    SessionState,
    SignIn,
    SignInResult,
    SignInSecondStep,
    SignInWithCode,
    SignInWithRecoveryCode,
    SignUp,
    TokenOnly,
)
from gptapi.console.auth.sessions import (
    clear_session_cookies,
    end_session,
    hash_token,
    start_session,
)
from gptapi.console.auth.supabase import refuse_in_supabase_mode
from gptapi.console.deps import (
    ConfirmedViewer,
    CurrentViewer,
    DbSession,
    OptionalViewer,
    State,
)
from gptapi.console.errors import ErrorBody, not_found
from gptapi.console.fields import SessionId
from gptapi.console.me.service import me
from gptapi.models import User, UserSession


async def local_accounts(state: State) -> None:
    refuse_in_supabase_mode(state.settings)


# Who is signed in, and signing out, work in both modes; the rest belongs to local accounts.
router = APIRouter(prefix="/auth", tags=["auth"])
local_router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(local_accounts)])

# Signed-out callers get an answer too: an empty requirement marks the schemes optional.
OPTIONAL_AUTH: dict[str, object] = {"security": [{}]}


def _conflict(description: str) -> dict[int | str, dict[str, Any]]:
    return {409: {"model": ErrorBody, "description": description}}


CHECK_INBOX = "If the address can be used, a mail with a link is on its way."


async def _signed_in(
    auth: Auth, user: User, request: Request, response: Response, state: State
) -> SignInResult:
    await start_session(
        auth.db,
        user,
        request=request,
        response=response,
        settings=state.settings,
        secret_key=state.secret_key,
        now=auth.now,
    )
    return SignInResult(me=await me(auth.db, user, state.secret_key))


@local_router.post(
    "/signup",
    status_code=201,
    summary="Create an account",
    description="Sends a verification link. The answer is the same when the address already "
    "has an account (that account is told by mail instead).",
)
async def sign_up(body: SignUp, auth: Auth) -> Notice:
    await accounts.sign_up(auth, str(body.email), body.password, body.name)
    return Notice(message=CHECK_INBOX)


@local_router.post("/verify-email", summary="Verify an email address with the mailed token")
async def verify_email(body: TokenOnly, auth: Auth) -> EmailVerified:
    user = await accounts.verify_email(auth, body.token)
    return EmailVerified(email=user.email)


@local_router.post("/resend-verification", status_code=202, summary="Mail a new verification link")
async def resend_verification(body: EmailOnly, auth: Auth) -> Notice:
    await accounts.resend_verification(auth, body.email)
    return Notice(message=CHECK_INBOX)


@local_router.post(
    "/signin",
    summary="Sign in with email and password",
    description="Sets the session cookies, or answers `mfa_required` with a challenge for "
    "POST /api/auth/signin/2fa when two-factor auth is on.",
)
async def sign_in(
    body: SignIn, auth: Auth, request: Request, response: Response, state: State
) -> SignInResult:
    checked = await signin.check_password(auth, body.email, body.password)
    if checked.challenge is not None:
        return SignInResult(mfa_required=True, challenge=checked.challenge)
    return await _signed_in(auth, checked.user, request, response, state)


@local_router.post("/signin/2fa", summary="Finish signing in with a 2FA or recovery code")
async def sign_in_second_step(
    body: SignInSecondStep, auth: Auth, request: Request, response: Response, state: State
) -> SignInResult:
    code = body.code if isinstance(body, SignInWithCode) else None
    recovery_code = body.recovery_code if isinstance(body, SignInWithRecoveryCode) else None
    user = await signin.check_second_factor(auth, body.challenge, code, recovery_code)
    return await _signed_in(auth, user, request, response, state)


@router.post(
    "/signout", status_code=204, summary="Sign out this browser", openapi_extra=OPTIONAL_AUTH
)
async def sign_out(viewer: OptionalViewer, db: DbSession, response: Response) -> None:
    if viewer is not None and viewer.session_token is not None:
        await end_session(db, viewer.session_token, response)
    else:
        clear_session_cookies(response)


@router.get("/session", summary="Who is signed in, if anyone", openapi_extra=OPTIONAL_AUTH)
async def session_state(viewer: OptionalViewer, db: DbSession, state: State) -> SessionState:
    if viewer is None:
        return SessionState(authenticated=False)
    return SessionState(authenticated=True, me=await me(db, viewer.user, state.secret_key))


@local_router.post("/forgot-password", status_code=202, summary="Mail a password reset link")
async def forgot_password(body: EmailOnly, auth: Auth) -> Notice:
    await accounts.forgot_password(auth, body.email)
    return Notice(message=CHECK_INBOX)


@local_router.post(
    "/reset-password",
    summary="Set a new password with the mailed token",
    description="The link works once and for one hour; every session is signed out.",
)
async def reset_password(body: ResetPassword, auth: Auth) -> Notice:
    await accounts.reset_password(auth, body.token, body.password)
    return Notice(message="Your password was changed. Sign in with the new one.")


@local_router.post(
    "/change-password",
    summary="Change your password",
    description="Other sessions are signed out; this one stays.",
)
async def change_password(body: ChangePassword, viewer: CurrentViewer, auth: Auth) -> Notice:
    await accounts.change_password(auth, viewer, body.current_password, body.new_password)
    return Notice(message="Your password was changed.")


@local_router.post(
    "/change-email",
    status_code=202,
    responses=_conflict("That is already your address."),
    summary="Move your account to another address",
    description="Needs a recent confirmation. A link goes to the new address; the change "
    "happens when it is followed.",
)
async def change_email(body: ChangeEmail, viewer: ConfirmedViewer, auth: Auth) -> Notice:
    await accounts.request_email_change(auth, viewer.user, str(body.new_email))
    return Notice(message=CHECK_INBOX)


@local_router.post(
    "/confirm-email-change",
    summary="Finish an email change with the mailed token",
    responses=_conflict("The address was taken meanwhile."),
)
async def confirm_email_change(body: TokenOnly, auth: Auth) -> EmailVerified:
    user = await accounts.confirm_email_change(auth, body.token)
    return EmailVerified(email=user.email)


@local_router.post(
    "/confirm",
    responses=_conflict("The account has no password (or confirms with its provider)."),
    summary="Confirm it's you before a sensitive action",
    description="With your password or a 2FA code; sensitive actions (revoking keys, "
    "disabling 2FA, changing email, deleting the account) are then allowed for 10 minutes.",
)
async def confirm(body: Confirm, viewer: CurrentViewer, auth: Auth) -> Confirmed:
    password = body.password if isinstance(body, ConfirmWithPassword) else None
    code = body.code if isinstance(body, ConfirmWithCode) else None
    until = await signin.confirm(auth, viewer, password, code)
    return Confirmed(confirmed_until=until)


@local_router.get("/sessions", summary="Your signed-in browsers")
async def list_sessions(viewer: CurrentViewer, db: DbSession, state: State) -> list[SessionOut]:
    rows = await db.scalars(
        select(UserSession)
        .where(UserSession.user_id == viewer.user.id, UserSession.expires_at > state.clock.now())
        .order_by(UserSession.last_seen_at.desc())
    )
    current = viewer.session.id if viewer.session else None
    return [
        SessionOut(
            id=row.id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            ip=row.ip,
            user_agent=row.user_agent,
            current=row.id == current,
        )
        for row in rows
    ]


@local_router.delete("/sessions/{session_id}", status_code=204, summary="Sign out one browser")
async def end_one_session(
    session_id: SessionId, viewer: CurrentViewer, db: DbSession, response: Response
) -> None:
    row = await db.get(UserSession, session_id)
    if row is None or row.user_id != viewer.user.id:
        raise not_found("session")
    if viewer.session_token is not None and hash_token(viewer.session_token) == row.id:
        await end_session(db, viewer.session_token, response)
    else:
        await db.delete(row)
