"""Sign-up credit: a verified newcomer's personal organisation gets it once, so the first
call works with no operator; it is off in production unless configured."""

from __future__ import annotations

from decimal import Decimal

from gptapi.config import Settings
from tests.console.auth.flows import PASSWORD, AuthPlatform, register, token_in
from tests.support.console import ConsoleClient


def _balance(client: ConsoleClient, org_id: str) -> int:
    response = client.get(f"/api/orgs/{org_id}/billing")
    assert response.status_code == 200, response.text
    return int(response.json()["balance_nanos"])


def test_a_verified_newcomer_gets_the_credit_once(auth: AuthPlatform) -> None:
    account = register(auth)
    org_id = account.client.get("/api/orgs").json()[0]["id"]
    assert _balance(account.client, org_id) == 5_000_000_000
    lines = account.client.get(f"/api/orgs/{org_id}/billing/transactions").json()["data"]
    assert [(line["kind"], line["description"]) for line in lines] == [
        ("welcome", "Welcome credit")
    ]
    # Proving the address again (a password reset) grants nothing more.
    anon = auth.client()
    assert anon.post("/api/auth/forgot-password", json={"email": account.email}).status_code == 202
    token = token_in(auth.mail(account.email, "Reset").text, "/reset-password")
    reset = anon.post("/api/auth/reset-password", json={"token": token, "password": PASSWORD + "!"})
    assert reset.status_code == 200, reset.text
    signed_in = anon.post(
        "/api/auth/signin", json={"email": account.email, "password": PASSWORD + "!"}
    )
    assert signed_in.status_code == 200
    assert _balance(anon, org_id) == 5_000_000_000


def test_production_gives_none_unless_configured() -> None:
    assert Settings(_env_file=None, environment="production").signup_credit_nanos == 0
    assert Settings(_env_file=None, environment="development").signup_credit_nanos == 5 * 10**9
    configured = Settings(
        _env_file=None, environment="production", signup_credit_usd=Decimal("2.5")
    )
    assert configured.signup_credit_nanos == 2_500_000_000
    assert Settings(_env_file=None, signup_credit_usd=Decimal("0")).signup_credit_nanos == 0
