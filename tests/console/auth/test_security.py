"""Guessing, enumeration, cookies and CSRF."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import Response

from gptapi.console.auth.sessions import set_session_cookies
from tests.billing.env import at_once
from tests.console.auth.flows import PASSWORD, AuthPlatform, error_code, new_email, register
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings as settings_for


def test_wrong_passwords_are_throttled_per_account(auth: AuthPlatform) -> None:
    account = register(auth)
    guess = {"email": account.email, "password": "a wrong guess"}
    for _ in range(10):
        assert httpx.post(f"{auth.url}/api/auth/signin", json=guess).status_code == 401
    limited = httpx.post(f"{auth.url}/api/auth/signin", json=guess)
    assert limited.status_code == 429 and error_code(limited) == "too_many_attempts"
    retry_after = int(limited.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60
    # From this address even the right password waits; other accounts are not affected.
    right = {"email": account.email, "password": PASSWORD}
    assert httpx.post(f"{auth.url}/api/auth/signin", json=right).status_code == 429
    other = register(auth)
    assert other.client.get("/api/me").status_code == 200

    # From another address the owner signs in at once: guessing cannot lock them out.
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as elsewhere:
        assert elsewhere.post(f"{auth.url}/api/auth/signin", json=right).status_code == 200

    auth.clock.advance(retry_after)
    assert httpx.post(f"{auth.url}/api/auth/signin", json=right).status_code == 200
    # A successful sign-in starts the count afresh.
    for _ in range(9):
        assert httpx.post(f"{auth.url}/api/auth/signin", json=guess).status_code == 401
    assert httpx.post(f"{auth.url}/api/auth/signin", json=right).status_code == 200
    account.client.close()
    other.client.close()


def test_guessing_across_accounts_is_throttled_per_address(auth: AuthPlatform) -> None:
    auth.clock.advance(3600)  # earlier tests' failures are out of the window
    for _ in range(50):
        guess = {"email": new_email(), "password": "a wrong guess"}
        assert httpx.post(f"{auth.url}/api/auth/signin", json=guess).status_code == 401
    limited = httpx.post(
        f"{auth.url}/api/auth/signin", json={"email": new_email(), "password": "a wrong guess"}
    )
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    auth.clock.advance(15 * 60 + 1)


def _same(a: httpx.Response, b: httpx.Response) -> None:
    assert (a.status_code, a.json()) == (b.status_code, b.json())


def test_answers_do_not_reveal_whether_an_address_has_an_account(auth: AuthPlatform) -> None:
    known = register(auth)
    unknown = new_email()
    url = auth.url

    def both(path: str, known_body: dict[str, str], unknown_body: dict[str, str]) -> None:
        _same(
            httpx.post(f"{url}{path}", json=known_body),
            httpx.post(f"{url}{path}", json=unknown_body),
        )

    both(
        "/api/auth/signin",
        {"email": known.email, "password": "a wrong guess"},
        {"email": unknown, "password": "a wrong guess"},
    )
    both("/api/auth/forgot-password", {"email": known.email}, {"email": unknown})
    both("/api/auth/resend-verification", {"email": known.email}, {"email": unknown})
    both(
        "/api/auth/signup",
        {"email": known.email, "password": "another passphrase"},
        {"email": unknown, "password": "another passphrase"},
    )
    # The owner of the existing account hears about the attempt instead.
    assert auth.mail(known.email, "already have an account")
    signed_in = httpx.post(
        f"{url}/api/auth/signin", json={"email": known.email, "password": PASSWORD}
    )
    assert signed_in.status_code == 200  # the second sign-up changed nothing
    known.client.close()


def test_cookies_are_http_only_and_same_site(auth: AuthPlatform) -> None:
    email = register(auth).email
    response = httpx.post(
        f"{auth.url}/api/auth/signin", json={"email": email, "password": PASSWORD}
    )
    cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
    assert "httponly" in cookies["gptapi_session"]
    assert "httponly" not in cookies["gptapi_csrf"]  # the console's scripts echo it
    for cookie in cookies.values():
        assert "samesite=lax" in cookie
        assert "secure" not in cookie.replace("httponly", "")


def test_cookies_are_secure_in_production(tmp_path: Path) -> None:
    settings = settings_for("sqlite+aiosqlite://", tmp_path, environment="production")
    response = Response()
    set_session_cookies(response, "token", "csrf", settings)
    for cookie in response.headers.getlist("set-cookie"):
        assert "Secure" in cookie


def test_state_changes_need_the_csrf_header(auth: AuthPlatform) -> None:
    account = register(auth)
    bare = httpx.Client(base_url=auth.url, cookies=account.client.http.cookies)
    for path, body in [
        ("/api/auth/signout", None),
        ("/api/auth/confirm", {"password": PASSWORD}),
        ("/api/auth/2fa/setup", None),
        ("/api/auth/change-password", {"current_password": PASSWORD, "new_password": "x" * 12}),
    ]:
        refused = bare.post(path, json=body)
        assert refused.status_code == 403 and error_code(refused) == "csrf_failed", path
    assert bare.delete("/api/me").status_code == 403
    assert account.client.get("/api/me").status_code == 200
    bare.close()
    account.client.close()


def test_bad_tokens_and_bodies_get_clear_errors(auth: AuthPlatform) -> None:
    url = auth.url
    for path in ("/api/auth/verify-email", "/api/auth/confirm-email-change"):
        bad = httpx.post(f"{url}{path}", json={"token": "nope"})
        assert bad.status_code == 404 and error_code(bad) == "invalid_token"
    for path, body in [
        ("/api/auth/signin", {"email": "x@example.com"}),
        ("/api/auth/signin/2fa", {"challenge": "c", "code": "1", "recovery_code": "r"}),
        ("/api/auth/reset-password", {"token": "t"}),
        ("/api/auth/forgot-password", {"email": ""}),
    ]:
        bad = httpx.post(f"{url}{path}", json=body)
        assert bad.status_code == 422 and error_code(bad) == "validation_error", path
    # U+0000 is refused everywhere under /api before validation (PostgreSQL cannot store it).
    for path, body in [
        ("/api/auth/signin", {"email": "nul\x00@example.com", "password": PASSWORD}),
        ("/api/auth/signup", {"email": "nul\x00@example.com", "password": PASSWORD}),
        ("/api/auth/verify-email", {"token": "nul\x00"}),
    ]:
        bad = httpx.post(f"{url}{path}", json=body)
        assert bad.status_code == 400 and error_code(bad) == "invalid_request", path
        assert bad.json()["error"]["param"] in ("email", "token"), path
    expired = httpx.post(f"{url}/api/auth/signin/2fa", json={"challenge": "nope", "code": "123456"})
    assert expired.status_code == 401 and error_code(expired) == "invalid_challenge"


def test_supabase_mode_has_no_local_accounts(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        settings = settings_for(
            url,
            tmp_path,
            auth_provider="supabase",
            supabase_url="http://127.0.0.1:9",
            supabase_jwt_secret="a-test-secret-of-enough-length-for-hs256",
        )
        platform = Platform(settings).start()
        try:
            for path, body in [
                ("/api/auth/signup", {"email": new_email(), "password": PASSWORD}),
                ("/api/auth/signin", {"email": new_email(), "password": PASSWORD}),
                ("/api/auth/forgot-password", {"email": new_email()}),
                ("/api/auth/2fa/setup", None),
            ]:
                refused = httpx.post(f"{platform.url}{path}", json=body)
                assert refused.status_code == 404, path
                assert error_code(refused) == "auth_managed_by_supabase"
            session = httpx.get(f"{platform.url}/api/auth/session").json()
            assert session == {"authenticated": False, "me": None}
        finally:
            platform.stop()


def test_concurrent_wrong_passwords_never_get_more_checks_than_the_limit(
    auth: AuthPlatform,
) -> None:
    account = register(auth)
    guess = {"email": account.email, "password": "a wrong guess"}
    statuses = at_once(
        [lambda: httpx.post(f"{auth.url}/api/auth/signin", json=guess, timeout=60).status_code] * 40
    )
    assert statuses.count(401) == 10 and statuses.count(429) == 30, statuses
    account.client.close()
