"""The embedded default has no Stripe: billing says payments are off, operators grant credit,
nothing crashes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.console import Member
from tests.support.platform import Platform

GPTAPI = str(Path(sys.executable).parent / "gptapi")


def test_billing_without_stripe(console: Platform, member: Member) -> None:
    base = f"/api/orgs/{member.org_id}/billing"
    overview = member.client.get(base)
    assert overview.status_code == 200
    assert overview.json()["payments_configured"] is False
    assert overview.json()["card"] is None
    for method, path, body in (
        ("POST", f"{base}/checkout", {"amount_usd": 25}),
        ("PUT", f"{base}/auto-refill", {"enabled": True, "threshold_usd": 5, "amount_usd": 25}),
    ):
        answer = member.client.request(method, path, json=body)
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "payments_not_configured"
    webhook = member.client.post("/api/stripe/webhook", content=b"{}")
    assert webhook.status_code == 503

    granted = subprocess.run(
        [GPTAPI, "admin", "credit", "grant", str(member.org_id), "25", "--reason", "invoice 42"],
        env={**os.environ, "DATABASE_URL": console.settings.resolved_database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert granted.returncode == 0, granted.stderr
    assert member.client.get(base).json()["balance_nanos"] == 25_000_000_000
    [line] = member.client.get(f"{base}/transactions").json()["data"]
    assert (line["kind"], line["description"]) == ("grant", "invoice 42")
    assert member.client.get(f"{base}/transactions.csv").status_code == 200
