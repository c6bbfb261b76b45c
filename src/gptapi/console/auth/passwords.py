"""Password hashing (Argon2id) and the password policy."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gptapi.console.errors import ApiError

MIN_LENGTH = 10
# Long enough for any passphrase; short enough that hashing stays cheap to ask for.
MAX_LENGTH = 200

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not the password of anyone")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches. With no hash (unknown email, no password set) a dummy is
    checked instead, so the answer takes as long and reveals nothing."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_policy(password: str, email: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ApiError(
            422,
            "weak_password",
            f"Use between {MIN_LENGTH} and {MAX_LENGTH} characters.",
            param="password",
        )
    if password.strip().lower() in {email.lower(), email.split("@")[0].lower()}:
        raise ApiError(
            422, "weak_password", "Don't use your email address as password.", param="password"
        )
