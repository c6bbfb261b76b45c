"""Two-factor auth: enrolment, the code step at sign-in, recovery codes, turning it off, and
the confirmation step that guards sensitive actions."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
import pyotp
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.models import User
from tests.console.auth.flows import (
    PASSWORD,
    Account,
    AuthPlatform,
    confirm,
    error_code,
    register,
    totp_code,
)


def _enrol(auth: AuthPlatform, account: Account) -> tuple[str, list[str]]:
    setup = account.client.post("/api/auth/2fa/setup").json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/GPT%20API:")
    assert f"secret={setup['secret']}" in setup["otpauth_uri"]
    assert setup["qr_svg"].startswith("<svg")
    wrong = account.client.post("/api/auth/2fa/enable", json={"code": "000000"})
    assert wrong.status_code == 403 and error_code(wrong) == "invalid_code"
    enabled = account.client.post(
        "/api/auth/2fa/enable", json={"code": totp_code(setup["secret"], auth)}
    )
    assert enabled.status_code == 200, enabled.text
    codes: list[str] = enabled.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    return setup["secret"], codes


def _password_step(auth: AuthPlatform, email: str) -> str:
    response = httpx.post(
        f"{auth.url}/api/auth/signin", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["mfa_required"] is True and body["me"] is None
    assert "gptapi_session" not in response.cookies
    return str(body["challenge"])


def test_enrol_sign_in_with_codes_and_turn_off(auth: AuthPlatform) -> None:
    account = register(auth)
    secret, recovery_codes = _enrol(auth, account)
    assert account.client.get("/api/me").json()["user"]["totp_enabled"] is True
    assert auth.mail(account.email, "Two-factor auth is on")

    # The secret is stored encrypted.
    user_id = uuid.UUID(account.client.get("/api/me").json()["user"]["id"])

    async def stored(session: AsyncSession) -> str | None:
        user = await session.get(User, user_id)
        assert user is not None
        return user.totp_secret

    assert secret not in (auth.platform.run(stored) or "")

    # Password, then a code from the app.
    challenge = _password_step(auth, account.email)
    wrong = httpx.post(
        f"{auth.url}/api/auth/signin/2fa", json={"challenge": challenge, "code": "000000"}
    )
    assert wrong.status_code == 401 and error_code(wrong) == "invalid_code"
    device = httpx.Client(base_url=auth.url)
    used = totp_code(secret, auth)
    done = device.post("/api/auth/signin/2fa", json={"challenge": challenge, "code": used})
    assert done.status_code == 200 and done.json()["me"]["user"]["email"] == account.email
    assert device.get("/api/me").status_code == 200
    # The challenge is spent.
    reused = httpx.post(
        f"{auth.url}/api/auth/signin/2fa",
        json={"challenge": challenge, "code": totp_code(secret, auth)},
    )
    assert reused.status_code == 401
    # The code just used, on a fresh challenge: refused, with a word on what to do.
    replayed = httpx.post(
        f"{auth.url}/api/auth/signin/2fa",
        json={"challenge": _password_step(auth, account.email), "code": used},
    )
    assert replayed.status_code == 401 and error_code(replayed) == "code_already_used"
    assert "Wait for the next code" in replayed.json()["error"]["message"]

    # A recovery code works once, in any spelling.
    code = recovery_codes[0]
    first = httpx.post(
        f"{auth.url}/api/auth/signin/2fa",
        json={
            "challenge": _password_step(auth, account.email),
            "recovery_code": f" {code.upper()} ",
        },
    )
    assert first.status_code == 200
    again = httpx.post(
        f"{auth.url}/api/auth/signin/2fa",
        json={"challenge": _password_step(auth, account.email), "recovery_code": code},
    )
    assert again.status_code == 401

    # Turning it off needs a fresh confirmation, by password or by code.
    auth.clock.advance(11 * 60)
    refused = account.client.post("/api/auth/2fa/disable")
    assert refused.status_code == 403 and error_code(refused) == "reauthentication_required"
    confirmed = account.client.post("/api/auth/confirm", json={"code": totp_code(secret, auth)})
    assert confirmed.status_code == 200
    assert account.client.post("/api/auth/2fa/disable").status_code == 200
    assert account.client.get("/api/me").json()["user"]["totp_enabled"] is False
    signed_in = httpx.post(
        f"{auth.url}/api/auth/signin", json={"email": account.email, "password": PASSWORD}
    )
    assert signed_in.json()["mfa_required"] is False
    device.close()
    account.client.close()


def test_a_code_is_accepted_only_once(auth: AuthPlatform) -> None:
    account = register(auth)
    secret, _ = _enrol(auth, account)
    code = totp_code(secret, auth)
    first = httpx.post(
        f"{auth.url}/api/auth/signin/2fa",
        json={"challenge": _password_step(auth, account.email), "code": code},
    )
    assert first.status_code == 200
    replayed = httpx.post(
        f"{auth.url}/api/auth/signin/2fa",
        json={"challenge": _password_step(auth, account.email), "code": code},
    )
    assert replayed.status_code == 401
    # The code of an earlier step does not work either, although it is within the window.
    earlier = pyotp.TOTP(secret).at(auth.clock.now() - timedelta(seconds=30))
    stale = httpx.post(
        f"{auth.url}/api/auth/signin/2fa",
        json={"challenge": _password_step(auth, account.email), "code": earlier},
    )
    assert stale.status_code == 401
    account.client.close()


def test_recovery_codes_can_be_replaced(auth: AuthPlatform) -> None:
    account = register(auth)
    _, old_codes = _enrol(auth, account)
    auth.clock.advance(11 * 60)
    assert account.client.post("/api/auth/2fa/recovery-codes").status_code == 403
    confirm(account)
    new_codes = account.client.post("/api/auth/2fa/recovery-codes").json()["recovery_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    old = httpx.post(
        f"{auth.url}/api/auth/signin/2fa",
        json={"challenge": _password_step(auth, account.email), "recovery_code": old_codes[1]},
    )
    assert old.status_code == 401
    new = httpx.post(
        f"{auth.url}/api/auth/signin/2fa",
        json={"challenge": _password_step(auth, account.email), "recovery_code": new_codes[1]},
    )
    assert new.status_code == 200
    account.client.close()


def test_setup_and_enable_refuse_out_of_order_calls(auth: AuthPlatform) -> None:
    account = register(auth)
    early = account.client.post("/api/auth/2fa/enable", json={"code": "123456"})
    assert early.status_code == 409 and error_code(early) == "totp_not_set_up"
    confirm(account)
    not_on = account.client.post("/api/auth/2fa/disable")
    assert not_on.status_code == 409 and error_code(not_on) == "totp_not_enabled"
    _enrol(auth, account)
    twice = account.client.post("/api/auth/2fa/setup")
    assert twice.status_code == 409 and error_code(twice) == "totp_already_enabled"
    account.client.close()


def test_confirm_checks_the_password(auth: AuthPlatform) -> None:
    account = register(auth)
    wrong = account.client.post("/api/auth/confirm", json={"password": "not the one"})
    assert wrong.status_code == 403 and error_code(wrong) == "invalid_credentials"
    without_2fa = account.client.post("/api/auth/confirm", json={"code": "123456"})
    assert without_2fa.status_code == 403
    both = account.client.post("/api/auth/confirm", json={"password": PASSWORD, "code": "123456"})
    assert both.status_code == 422
    right = account.client.post("/api/auth/confirm", json={"password": PASSWORD})
    assert right.status_code == 200
    assert re.match(r"\d{4}-\d\d-\d\dT", right.json()["confirmed_until"])
    account.client.close()
