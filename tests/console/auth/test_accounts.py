"""Local accounts over HTTP: sign-up and verification, sign-in and out, password reset and
change, email change, profile."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.mail.transports import DevMailbox
from gptapi.models import User
from tests.console.auth.flows import (
    PASSWORD,
    AuthPlatform,
    SmtpInbox,
    confirm,
    error_code,
    new_email,
    register,
    token_in,
)
from tests.support.console import ConsoleClient
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings as settings_for
from tests.support.threads import wait_until


def _users_named(env: AuthPlatform, email: str) -> int:
    async def work(session: AsyncSession) -> int:
        return int(
            await session.scalar(select(func.count(User.id)).where(User.email == email)) or 0
        )

    return env.platform.run(work)


def test_sign_up_verify_sign_in_and_out(auth: AuthPlatform) -> None:
    email = new_email()
    client = auth.client()
    created = client.post(
        "/api/auth/signup", json={"email": email.upper(), "password": PASSWORD, "name": "Ada"}
    )
    assert created.status_code == 201

    # The embedded default shows the mail on the dev mailbox, link included.
    mails = httpx.get(f"{auth.url}/api/dev/mailbox").json()
    mail = next(m for m in mails if m["to"] == email)
    token = token_in(mail["text"], f"{auth.platform.settings.base_url}/verify-email")
    page = httpx.get(f"{auth.url}/dev/mailbox")
    assert (
        page.status_code == 200
        and f'href="{auth.platform.settings.base_url}/verify-email' in page.text
    )

    assert client.post("/api/auth/verify-email", json={"token": token}).json() == {
        "email": email,
        "email_verified": True,
    }
    again = client.post("/api/auth/verify-email", json={"token": token})
    assert again.status_code == 404 and error_code(again) == "invalid_token"

    signed_in = client.post("/api/auth/signin", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200
    assert signed_in.json()["mfa_required"] is False
    session = client.get("/api/auth/session").json()
    assert session["authenticated"] is True
    user = session["me"]["user"]
    assert (user["email"], user["name"], user["email_verified"], user["totp_enabled"]) == (
        email,
        "Ada",
        True,
        False,
    )
    [organization] = session["me"]["organizations"]
    assert organization["role"] == "owner" and organization["is_personal"] is True
    assert client.get("/api/me").json() == session["me"]

    assert client.post("/api/auth/signout").status_code == 204
    assert client.get("/api/auth/session").json() == {"authenticated": False, "me": None}
    assert client.get("/api/me").status_code == 401
    client.close()


def test_sign_up_mail_goes_over_smtp(backend: str, tmp_path: Path, smtp_inbox: SmtpInbox) -> None:
    settings = settings_for(
        "",
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=smtp_inbox.port,
        smtp_security="none",
        mail_from="GPT API <no-reply@example.com>",
    )
    with fresh_database(backend, tmp_path) as url:
        platform = Platform(settings.model_copy(update={"database_url": url})).start()
        client = ConsoleClient(platform.url)
        try:
            email = new_email()
            assert (
                client.post(
                    "/api/auth/signup", json={"email": email, "password": PASSWORD}
                ).status_code
                == 201
            )
            message: EmailMessage = smtp_inbox.wait_for(email)
            assert message["From"] == "GPT API <no-reply@example.com>"
            body = message.get_body(("plain",))
            assert body is not None
            token = token_in(body.get_content(), "/verify-email")
            assert client.post("/api/auth/verify-email", json={"token": token}).status_code == 200
            signed_in = client.post("/api/auth/signin", json={"email": email, "password": PASSWORD})
            assert signed_in.status_code == 200
            assert client.get("/api/me").json()["user"]["email"] == email
            assert client.post("/api/auth/signout").status_code == 204
            assert client.get("/api/me").status_code == 401
            # Real mail is sent, so there is no dev mailbox.
            assert not isinstance(platform.runtime.console.mailer.transport, DevMailbox)
            assert client.get("/api/dev/mailbox").status_code == 404
            assert client.get("/dev/mailbox").status_code == 404
        finally:
            client.close()
            platform.stop()


def test_unverified_email_is_refused_only_after_the_right_password(auth: AuthPlatform) -> None:
    email = new_email()
    client = auth.client()
    client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    wrong = client.post("/api/auth/signin", json={"email": email, "password": "not the one"})
    assert wrong.status_code == 401 and error_code(wrong) == "invalid_credentials"
    right = client.post("/api/auth/signin", json={"email": email, "password": PASSWORD})
    assert right.status_code == 403 and error_code(right) == "email_not_verified"
    assert "gptapi_session" not in client.http.cookies

    first = token_in(auth.mail(email, "Verify").text, "/verify-email")
    resent = client.post("/api/auth/resend-verification", json={"email": email})
    assert resent.status_code == 202
    wait_until(lambda: len([m for m in auth.mails_to(email) if "Verify" in m.subject]) == 2)
    second = token_in(auth.mail(email, "Verify").text, "/verify-email")
    # A new link replaces the old one.
    assert client.post("/api/auth/verify-email", json={"token": first}).status_code == 404
    assert client.post("/api/auth/verify-email", json={"token": second}).status_code == 200
    assert (
        client.post("/api/auth/signin", json={"email": email, "password": PASSWORD}).status_code
        == 200
    )
    client.close()


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "short@example.com", "password": "too short"}, "password"),
        (
            {"email": "same.as.email@example.com", "password": "same.as.email@example.com"},
            "password",
        ),
        ({"email": "localpart12@example.com", "password": "LocalPart12"}, "password"),
        ({"email": "long@example.com", "password": "x" * 201}, "password"),
        ({"email": "noname@example.com", "password": PASSWORD, "name": "n" * 201}, "name"),
    ],
)
def test_bad_sign_ups_are_refused_and_create_nothing(
    auth: AuthPlatform, body: dict[str, str], param: str
) -> None:
    response = httpx.post(f"{auth.url}/api/auth/signup", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["param"] == param
    assert _users_named(auth, body["email"]) == 0


def test_reset_password_once_and_sign_out_everywhere(auth: AuthPlatform) -> None:
    account = register(auth)
    other_device = auth.client()
    other_device.post("/api/auth/signin", json={"email": account.email, "password": PASSWORD})
    assert other_device.get("/api/me").status_code == 200

    anonymous = auth.client()
    assert (
        anonymous.post(
            "/api/auth/forgot-password", json={"email": account.email.upper()}
        ).status_code
        == 202
    )
    token = token_in(auth.mail(account.email, "Reset").text, "/reset-password")

    weak = anonymous.post("/api/auth/reset-password", json={"token": token, "password": "short"})
    assert weak.status_code == 422
    same_as_email = anonymous.post(
        "/api/auth/reset-password", json={"token": token, "password": account.email}
    )
    assert same_as_email.status_code == 422 and error_code(same_as_email) == "weak_password"

    new_password = "a brand new passphrase"
    reset = anonymous.post(
        "/api/auth/reset-password", json={"token": token, "password": new_password}
    )
    assert reset.status_code == 200
    reused = anonymous.post(
        "/api/auth/reset-password", json={"token": token, "password": "another one!!"}
    )
    assert reused.status_code == 404 and error_code(reused) == "invalid_token"

    assert account.client.get("/api/me").status_code == 401
    assert other_device.get("/api/me").status_code == 401
    old = anonymous.post("/api/auth/signin", json={"email": account.email, "password": PASSWORD})
    assert old.status_code == 401
    new = anonymous.post(
        "/api/auth/signin", json={"email": account.email, "password": new_password}
    )
    assert new.status_code == 200
    assert auth.mail(account.email, "password was changed")
    for client in (account.client, other_device, anonymous):
        client.close()


def test_reset_link_expires_after_an_hour(auth: AuthPlatform) -> None:
    account = register(auth)
    account.client.post("/api/auth/forgot-password", json={"email": account.email})
    token = token_in(auth.mail(account.email, "Reset").text, "/reset-password")
    auth.clock.advance(3601)
    late = account.client.post(
        "/api/auth/reset-password", json={"token": token, "password": "a brand new passphrase"}
    )
    assert late.status_code == 404 and error_code(late) == "invalid_token"
    still = account.client.post(
        "/api/auth/signin", json={"email": account.email, "password": PASSWORD}
    )
    assert still.status_code == 200
    account.client.close()


def test_change_password_keeps_this_session_and_ends_the_others(auth: AuthPlatform) -> None:
    account = register(auth)
    other = auth.client()
    other.post("/api/auth/signin", json={"email": account.email, "password": PASSWORD})

    wrong = account.client.post(
        "/api/auth/change-password",
        json={"current_password": "not the one", "new_password": "a brand new passphrase"},
    )
    assert wrong.status_code == 403 and error_code(wrong) == "invalid_credentials"
    assert other.get("/api/me").status_code == 200

    changed = account.client.post(
        "/api/auth/change-password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert changed.status_code == 200
    assert account.client.get("/api/me").status_code == 200
    assert other.get("/api/me").status_code == 401
    other.close()
    account.client.close()


def test_change_email_needs_confirmation_and_the_new_mailbox(auth: AuthPlatform) -> None:
    account = register(auth)
    target = new_email()
    auth.clock.advance(11 * 60)  # the sign-in no longer counts as a recent confirmation
    unconfirmed = account.client.post("/api/auth/change-email", json={"new_email": target})
    assert unconfirmed.status_code == 403 and error_code(unconfirmed) == "reauthentication_required"

    confirm(account)
    same = account.client.post("/api/auth/change-email", json={"new_email": account.email})
    assert same.status_code == 409 and error_code(same) == "email_unchanged"
    asked = account.client.post("/api/auth/change-email", json={"new_email": target})
    assert asked.status_code == 202
    token = token_in(auth.mail(target, "Confirm your new email").text, "/confirm-email")
    assert account.client.get("/api/me").json()["user"]["email"] == account.email

    done = httpx.post(f"{auth.url}/api/auth/confirm-email-change", json={"token": token})
    assert done.json() == {"email": target, "email_verified": True}
    assert account.client.get("/api/me").json()["user"]["email"] == target
    assert auth.mail(account.email, "email address was changed")
    moved = httpx.post(f"{auth.url}/api/auth/signin", json={"email": target, "password": PASSWORD})
    assert moved.status_code == 200

    # An address that already has an account is told so, and nothing changes.
    taken = register(auth)
    confirm(account)
    assert (
        account.client.post("/api/auth/change-email", json={"new_email": taken.email}).status_code
        == 202
    )
    assert auth.mail(taken.email, "not possible")
    assert account.client.get("/api/me").json()["user"]["email"] == target
    account.client.close()
    taken.client.close()


def test_sessions_can_be_listed_and_ended_one_by_one(auth: AuthPlatform) -> None:
    account = register(auth)
    laptop = auth.client()
    laptop.post(
        "/api/auth/signin",
        json={"email": account.email, "password": PASSWORD},
        headers={"user-agent": "laptop"},
    )
    sessions = account.client.get("/api/auth/sessions").json()
    assert len(sessions) == 2
    [current] = [s for s in sessions if s["current"]]
    [other] = [s for s in sessions if not s["current"]]
    assert other["user_agent"] == "laptop"

    stranger = register(auth)
    assert stranger.client.delete(f"/api/auth/sessions/{other['id']}").status_code == 404
    assert stranger.client.delete("/api/auth/sessions/not-an-id").status_code == 422
    assert stranger.client.delete("/api/auth/sessions/not-an-id%00").status_code == 400
    assert laptop.get("/api/me").status_code == 200

    assert account.client.delete(f"/api/auth/sessions/{other['id']}").status_code == 204
    assert laptop.get("/api/me").status_code == 401
    assert account.client.delete(f"/api/auth/sessions/{current['id']}").status_code == 204
    assert account.client.get("/api/me").status_code == 401
    for client in (account.client, laptop, stranger.client):
        client.close()


def test_rename(auth: AuthPlatform) -> None:
    account = register(auth)
    renamed = account.client.patch("/api/me", json={"name": "  Grace  "})
    assert renamed.status_code == 200 and renamed.json()["user"]["name"] == "Grace"
    for bad in ("g" * 201, "new\nline"):
        assert account.client.patch("/api/me", json={"name": bad}).status_code == 422
    assert account.client.patch("/api/me", json={"name": "nul\x00"}).status_code == 400
    assert account.client.get("/api/me").json()["user"]["name"] == "Grace"
    account.client.close()
