"""The mails accounts send. Plain text: every client shows it, and links stay visible."""

from __future__ import annotations

from urllib.parse import quote

from gptapi.mail.message import Mail

SIGNATURE = "\n\n— GPT API"


def _link(base_url: str, path: str, token: str) -> str:
    return f"{base_url}{path}?token={quote(token)}"


def verify_email(to: str, base_url: str, token: str) -> Mail:
    return Mail(
        to,
        "Verify your email address",
        "Welcome to GPT API. Confirm this is your address by opening:\n\n"
        f"{_link(base_url, '/verify-email', token)}\n\n"
        "The link works for 48 hours. If you did not sign up, ignore this mail." + SIGNATURE,
    )


def already_registered(to: str, base_url: str) -> Mail:
    return Mail(
        to,
        "You already have an account",
        "Someone (hopefully you) tried to sign up with this address, which already has an "
        f"account. Sign in at {base_url}/signin, or reset your password at "
        f"{base_url}/forgot-password.\n\nIf it was not you, you can ignore this mail." + SIGNATURE,
    )


def reset_password(to: str, base_url: str, token: str) -> Mail:
    return Mail(
        to,
        "Reset your password",
        "Choose a new password by opening:\n\n"
        f"{_link(base_url, '/reset-password', token)}\n\n"
        "The link works once, for one hour. If you did not ask for it, ignore this mail; "
        "your password stays as it is." + SIGNATURE,
    )


def confirm_new_email(to: str, base_url: str, token: str) -> Mail:
    return Mail(
        to,
        "Confirm your new email address",
        "Confirm that GPT API should use this address for your account by opening:\n\n"
        f"{_link(base_url, '/confirm-email', token)}\n\n"
        "The link works for 24 hours." + SIGNATURE,
    )


def email_taken(to: str) -> Mail:
    return Mail(
        to,
        "Email change not possible",
        "Someone asked to move a GPT API account to this address, but it already belongs to "
        "an account. Nothing was changed." + SIGNATURE,
    )


def notice(to: str, subject: str, what: str) -> Mail:
    """Tells the owner of an account that something security-relevant happened."""
    return Mail(
        to,
        subject,
        f"{what}\n\nIf this was not you, reset your password right away and contact support."
        + SIGNATURE,
    )
