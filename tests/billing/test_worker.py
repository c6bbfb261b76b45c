"""The billing loop runs inside the platform: a balance that falls below the threshold is
refilled, and its owners are warned, without anyone calling anything."""

from __future__ import annotations

from pathlib import Path

from tests.billing.env import billing_env
from tests.support.threads import wait_until

NANOS = 1_000_000_000


def test_the_worker_refills_and_warns_on_its_own(backend: str, tmp_path: Path) -> None:
    with billing_env(backend, tmp_path, billing_poll_seconds=0.1) as env:
        member = env.member()
        session_id = env.top_up(member, 25, save_card=True)
        env.stripe.complete_checkout(session_id)
        env.deliver("checkout.session.completed", env.stripe.object(session_id))
        refill = {"enabled": True, "threshold_usd": 10, "amount_usd": 50}
        assert member.client.put(f"{env.base(member)}/auto-refill", json=refill).status_code == 200

        env.grant(member.org_id, "-22", reason="spent elsewhere")  # $3: due a refill
        wait_until(lambda: env.balance(member.org_id) == 53 * NANOS)

        other = env.member()  # no auto-refill: warned instead
        env.grant(other.org_id, "3")
        wait_until(lambda: "Your API credit is running low" in env.mails_to(other.email))
        assert env.balance(member.org_id) == 53 * NANOS
