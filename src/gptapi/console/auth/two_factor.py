"""TOTP (RFC 6238) secrets, codes and recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import InvalidToken
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.kit.sealed import Sealer
from gptapi.models import RecoveryCode, User

ISSUER = "GPT API"
RECOVERY_CODE_COUNT = 10
# Accept the previous and next 30-second step too, for clocks that drift a little.
VALID_WINDOW = 1


def encrypt_secret(secret_key: bytes, secret: str) -> str:
    return Sealer(secret_key, "totp").seal(secret)


def decrypt_secret(secret_key: bytes, stored: str) -> str | None:
    try:
        return Sealer(secret_key, "totp").open(stored)
    except InvalidToken:
        return None


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    return str(segno.make(uri, error="m").svg_inline(scale=4))


def _matching_steps(user: User, secret_key: bytes, code: str, now: datetime) -> list[int]:
    """The time steps within the window whose code is `code`."""
    code = "".join(code.split())
    if user.totp_secret is None or not code.isdigit():
        return []
    secret = decrypt_secret(secret_key, user.totp_secret)
    if secret is None:
        return []
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    window = range(current - VALID_WINDOW, current + VALID_WINDOW + 1)
    return [step for step in window if hmac.compare_digest(totp.generate_otp(step), code)]


def verify_code(user: User, secret_key: bytes, code: str, now: datetime) -> bool:
    """Check a 6-digit code against the user's secret; an accepted code's time step is
    remembered so the same code (or an older one) cannot be used again."""
    for step in _matching_steps(user, secret_key, code, now):
        if user.totp_last_step is None or step > user.totp_last_step:
            user.totp_last_step = step
            return True
    return False


def already_used(user: User, secret_key: bytes, code: str, now: datetime) -> bool:
    """A right code whose time step was already spent: the person should wait for the next."""
    last = user.totp_last_step
    return last is not None and any(
        step <= last for step in _matching_steps(user, secret_key, code, now)
    )


def _hash_recovery_code(code: str) -> str:
    normalized = "".join(code.split()).replace("-", "").lower()
    return hashlib.sha256(normalized.encode()).hexdigest()


async def replace_recovery_codes(db: AsyncSession, user: User) -> list[str]:
    await delete_recovery_codes(db, user)
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    db.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_recovery_code(c)) for c in codes)
    await db.flush()
    return codes


async def use_recovery_code(db: AsyncSession, user: User, code: str) -> bool:
    row = await db.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash_recovery_code(code)
        )
    )
    if row is None:
        return False
    await db.delete(row)
    await db.flush()
    return True


async def delete_recovery_codes(db: AsyncSession, user: User) -> None:
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def enabled(user: User) -> bool:
    return user.totp_enabled_at is not None
