"""Request and response bodies of /api/auth."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gptapi.console.fields import (
    AnyEmail,
    Name,
    NewEmail,
    NewPassword,
    Password,
    Token,
    TotpDigits,
)
from gptapi.console.me.schemas import Me


class SignUp(BaseModel):
    email: NewEmail
    password: NewPassword
    name: Name = ""


class EmailOnly(BaseModel):
    email: AnyEmail


class TokenOnly(BaseModel):
    token: Token


class SignIn(BaseModel):
    email: AnyEmail
    password: Password


class _Exact(BaseModel):
    # One shape or the other, never both: extra fields are refused.
    model_config = ConfigDict(extra="forbid")


class SignInWithCode(_Exact):
    challenge: Token
    code: TotpDigits


class SignInWithRecoveryCode(_Exact):
    challenge: Token
    recovery_code: str = Field(min_length=1, max_length=40)


SignInSecondStep = SignInWithCode | SignInWithRecoveryCode


class ResetPassword(BaseModel):
    token: Token
    password: NewPassword


class ChangePassword(BaseModel):
    current_password: Password
    new_password: NewPassword


class ChangeEmail(BaseModel):
    new_email: NewEmail


class ConfirmWithPassword(_Exact):
    password: Password


class ConfirmWithCode(_Exact):
    code: TotpDigits


Confirm = ConfirmWithPassword | ConfirmWithCode


class Notice(BaseModel):
    """The answer to requests whose outcome must not reveal whether an account exists."""

    message: str


class SignInResult(BaseModel):
    """Either signed in (`me` set, cookies issued) or a second factor is needed first."""

    mfa_required: bool = False
    challenge: str | None = Field(
        default=None, description="Send it to POST /api/auth/signin/2fa with the code."
    )
    me: Me | None = None


class SessionState(BaseModel):
    authenticated: bool
    me: Me | None = None


class Confirmed(BaseModel):
    confirmed_until: datetime


class EmailVerified(BaseModel):
    email: str
    email_verified: bool = True


class SessionOut(BaseModel):
    id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str
    user_agent: str
    current: bool


class TotpSetup(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str


class TotpCode(BaseModel):
    code: TotpDigits


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once; each works once.")
