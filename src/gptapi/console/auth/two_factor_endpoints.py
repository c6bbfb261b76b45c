"""/api/auth/2fa: enrolling an authenticator app, recovery codes, and turning 2FA off."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from gptapi.console.auth import enrolment, two_factor
from gptapi.console.auth.context import Auth
from gptapi.console.auth.endpoints import local_accounts
from gptapi.console.auth.schemas import Notice, RecoveryCodes, TotpCode, TotpSetup
from gptapi.console.deps import ConfirmedViewer, CurrentViewer
from gptapi.console.errors import ErrorBody

router = APIRouter(
    prefix="/auth/2fa",
    tags=["auth"],
    dependencies=[Depends(local_accounts)],
    responses={409: {"model": ErrorBody, "description": "2FA is not in the state this needs."}},
)


@router.post(
    "/setup",
    summary="Start enrolling an authenticator app",
    description="Returns a new secret as text, otpauth URI and QR code; 2FA is on only once "
    "POST /api/auth/2fa/enable accepts a code from the app.",
)
async def setup(viewer: CurrentViewer, auth: Auth) -> TotpSetup:
    pending = enrolment.start(auth, viewer.user)
    return TotpSetup(
        secret=pending.secret,
        otpauth_uri=pending.otpauth_uri,
        qr_svg=two_factor.qr_svg(pending.otpauth_uri),
    )


@router.post("/enable", summary="Turn 2FA on with a code from the app")
async def enable(body: TotpCode, viewer: CurrentViewer, auth: Auth) -> RecoveryCodes:
    return RecoveryCodes(recovery_codes=await enrolment.enable(auth, viewer.user, body.code))


@router.post("/disable", summary="Turn 2FA off", description="Needs a recent confirmation.")
async def disable(viewer: ConfirmedViewer, auth: Auth) -> Notice:
    await enrolment.disable(auth, viewer.user)
    return Notice(message="Two-factor auth is off.")


@router.post(
    "/recovery-codes",
    summary="Replace your recovery codes",
    description="Needs a recent confirmation; the old codes stop working.",
)
async def replace_recovery_codes(viewer: ConfirmedViewer, auth: Auth) -> RecoveryCodes:
    codes = await enrolment.replace_recovery_codes(auth, viewer.user)
    return RecoveryCodes(recovery_codes=codes)
