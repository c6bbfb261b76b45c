"""Spend, the transaction history with its running balance, CSV and monthly statements."""

from __future__ import annotations

import csv
import io
import itertools
import re
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.compute.billing import close_run, meter_run
from gptapi.models import DeploymentRun
from tests.billing.env import BillingEnv
from tests.support.compute import add_deployment
from tests.support.console import Member

NANOS = 1_000_000_000
MARCH_10 = datetime(2026, 3, 10, 9, tzinfo=UTC)
MARCH_11 = datetime(2026, 3, 11, 23, 59, tzinfo=UTC)


def funded_with_usage(env: BillingEnv) -> Member:
    member = env.member()
    for hour in (0, 1, 2):
        env.add_usage(member, "alpha", NANOS, MARCH_10.replace(hour=hour))
    env.add_usage(member, "beta", 2 * NANOS, MARCH_10, endpoint="embeddings")
    env.add_usage(member, "alpha", NANOS // 2, MARCH_11)
    env.grant(member.org_id, "100", reason="welcome credit")
    session_id = env.top_up(member, 25)
    env.stripe.complete_checkout(session_id)
    env.deliver("checkout.session.completed", env.stripe.object(session_id))
    return member


def lines(env: BillingEnv, member: Member, **params: Any) -> dict[str, Any]:
    response = member.client.get(f"{env.base(member)}/transactions", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_history_sums_usage_per_day_and_model_with_a_running_balance(env: BillingEnv) -> None:
    member = funded_with_usage(env)
    page = lines(env, member)
    data = page["data"]
    assert page["next_cursor"] is None
    assert [(line["kind"], line["entries"], line["amount_nanos"]) for line in data] == [
        ("topup", 1, 25 * NANOS),
        ("grant", 1, 100 * NANOS),
        ("usage", 1, -NANOS // 2),  # alpha on the 11th
        ("usage", 1, -2 * NANOS),  # beta on the 10th, at 09:00
        ("usage", 3, -3 * NANOS),  # alpha on the 10th, the last at 02:00
    ]
    assert data[0]["balance_nanos"] == env.balance(member.org_id) == 119_500_000_000
    for newer, older in itertools.pairwise(data):
        assert newer["balance_nanos"] - newer["amount_nanos"] == older["balance_nanos"]
    assert data[-1]["balance_nanos"] == data[-1]["amount_nanos"]
    assert data[0]["receipt_url"].startswith(env.stripe.url)
    assert {line["description"] for line in data if line["kind"] == "usage"} == {
        "alpha (3 requests)",
        "alpha (1 requests)",
        "beta (1 requests)",
    }


def test_pages_follow_each_other_exactly(env: BillingEnv) -> None:
    member = funded_with_usage(env)
    everything = lines(env, member)["data"]
    collected: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = lines(env, member, limit=2, **({"cursor": cursor} if cursor else {}))
        collected += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert collected == everything and len(everything) == 5
    for cursor, status in (("nope!", 422), ("bm9wZQ", 400)):  # "nope", base64
        bad = member.client.get(f"{env.base(member)}/transactions", params={"cursor": cursor})
        assert bad.status_code == status and bad.json()["error"]["param"] == "cursor"
    assert member.client.get(f"{env.base(member)}/transactions?limit=0").status_code == 422


def test_csv_download_has_every_line(env: BillingEnv) -> None:
    member = funded_with_usage(env)
    response = member.client.get(f"{env.base(member)}/transactions.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 5
    assert Decimal(rows[0]["balance_usd"]) == Decimal("119.5")
    assert sum(Decimal(row["amount_usd"]) for row in rows) == Decimal("119.5")


def test_spend_by_model_and_service(env: BillingEnv) -> None:
    member = funded_with_usage(env)
    spend = member.client.get(f"{env.base(member)}/spend", params={"month": "2026-03"}).json()
    assert spend["total_nanos"] == 5_500_000_000
    assert [(s["name"], s["requests"], s["cost_nanos"]) for s in spend["by_model"]] == [
        ("alpha", 4, 3_500_000_000),
        ("beta", 1, 2 * NANOS),
    ]
    assert {s["name"]: s["cost_nanos"] for s in spend["by_service"]} == {
        "chat.completions": 3_500_000_000,
        "embeddings": 2 * NANOS,
    }
    empty = member.client.get(f"{env.base(member)}/spend", params={"month": "2026-04"}).json()
    assert empty["total_nanos"] == 0 and empty["by_model"] == []
    for month in ("2026-13", "March", "2026-3-1"):
        bad = member.client.get(f"{env.base(member)}/spend", params={"month": month})
        assert bad.status_code == 422, month
        assert bad.json()["error"]["param"] == "month"


def test_monthly_statements_add_up(env: BillingEnv) -> None:
    member = funded_with_usage(env)
    march = member.client.get(f"{env.base(member)}/statements/2026-03.csv")
    assert march.status_code == 200
    rows = list(csv.reader(io.StringIO(march.text)))
    assert rows[2][:4] == ["opening balance", "2026-03-01", "", ""]
    assert Decimal(rows[2][4]) == 0
    assert ["usage", "2026-03", "alpha", "4 requests", "-3.500000000"] in rows
    assert rows[-1] == ["closing balance", "2026-04-01", "", "", "-5.500000000"]

    this_month = f"{env.clock.now():%Y-%m}"
    current = list(
        csv.reader(
            io.StringIO(member.client.get(f"{env.base(member)}/statements/{this_month}.csv").text)
        )
    )
    body = current[3:-1]
    opening, closing = Decimal(current[2][4]), Decimal(current[-1][4])
    assert opening == Decimal("-5.5")
    assert opening + sum(Decimal(row[4]) for row in body) == closing == Decimal("119.5")
    assert {row[0] for row in body} == {"grant", "topup"}
    assert member.client.get(f"{env.base(member)}/statements/2026-00.csv").status_code == 422


def test_payments_list_links_receipts(env: BillingEnv) -> None:
    member = funded_with_usage(env)
    env.top_up(member, 50)  # started, never paid
    payments = member.client.get(f"{env.base(member)}/payments").json()
    assert [(p["status"], p["amount_usd"]) for p in payments] == [
        ("open", "50.00"),
        ("paid", "25.00"),
    ]
    assert payments[0]["receipt_url"] is None
    assert payments[1]["receipt_url"].startswith(env.stripe.url)


def _pdf_text(body: bytes) -> str:
    """The text-drawing operators of a PDF's (deflated) content streams."""
    assert body.startswith(b"%PDF-")
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.DOTALL)
    text = []
    for stream in streams:
        try:
            text.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            continue  # fonts and images
    return "\n".join(text)


def test_statements_and_invoices_come_as_pdf(env: BillingEnv) -> None:
    member = funded_with_usage(env)
    march = member.client.get(f"{env.base(member)}/statements/2026-03.pdf")
    assert march.status_code == 200
    assert march.headers["content-type"] == "application/pdf"
    assert 'filename="statement-2026-03.pdf"' in march.headers["content-disposition"]
    text = _pdf_text(march.content)
    for shown in (
        "Statement for 2026-03",
        "opening balance",
        "alpha",
        "4 requests",
        "-5.500000000",
    ):
        assert shown in text, shown
    assert member.client.get(f"{env.base(member)}/statements/2026-13.pdf").status_code == 422

    env.top_up(member, 50)  # started, never paid: no invoice
    unpaid, paid = member.client.get(f"{env.base(member)}/payments").json()
    invoice = member.client.get(f"{env.base(member)}/payments/{paid['id']}/invoice.pdf")
    assert invoice.status_code == 200
    text = _pdf_text(invoice.content)
    assert "prepaid API credit" in text and "$25.00" in text and "Paid" in text
    refused = member.client.get(f"{env.base(member)}/payments/{unpaid['id']}/invoice.pdf")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "payment_not_paid"
    # Another organisation's invoice is as unknown as a missing one.
    stranger = env.member()
    elsewhere = stranger.client.get(f"{env.base(stranger)}/payments/{paid['id']}/invoice.pdf")
    assert elsewhere.status_code == 404


PER_SECOND = 1_000_000  # $3.60 an hour


def deployment_run(
    env: BillingEnv, member: Member, name: str, start: datetime, meters: list[int]
) -> None:
    """A run of a deployment called `name` charged as the worker does: metered at each of
    `meters` (seconds after `start`), closed at the last."""

    async def work(session: AsyncSession) -> None:
        deployment_id = await add_deployment(
            session,
            member.org_id,
            name=name,
            slug="smollm2-135m",
            provider="local",
            state="stopped",
            price_nanos_per_hour=3600 * PER_SECOND,
        )
        run = DeploymentRun(
            deployment_id=deployment_id,
            organization_id=member.org_id,
            price_nanos_per_hour=3600 * PER_SECOND,
            started_at=start,
            last_seen_at=start,
        )
        session.add(run)
        await session.flush()
        for seconds in meters[:-1]:
            await meter_run(session, run, start + timedelta(seconds=seconds))
        await close_run(session, run, start + timedelta(seconds=meters[-1]))

    env.platform.run(work)


def test_deployment_charges_are_summed_per_day_and_deployment_with_their_hours(
    env: BillingEnv,
) -> None:
    member = env.member()
    env.grant(member.org_id, "100", reason="welcome credit")
    deployment_run(env, member, "llama-70b", MARCH_10, [600, 3600, 5400])
    deployment_run(env, member, "whisper", MARCH_10.replace(hour=12), [30])  # the minute minimum
    deployment_run(env, member, "llama-70b", MARCH_11.replace(hour=8), [1800])
    data = lines(env, member)["data"]
    charges = [
        (line["description"], line["amount_nanos"], line["entries"])
        for line in data
        if line["kind"] == "compute"
    ]
    assert charges == [
        ("llama-70b (0.50 h)", -1800 * PER_SECOND, 1),
        ("whisper (0.02 h)", -60 * PER_SECOND, 1),
        ("llama-70b (1.50 h)", -5400 * PER_SECOND, 3),
    ]
    assert data[0]["balance_nanos"] == env.balance(member.org_id)
    assert data[0]["balance_nanos"] == 100 * NANOS - 7260 * PER_SECOND
    for newer, older in itertools.pairwise(data):
        assert newer["balance_nanos"] - newer["amount_nanos"] == older["balance_nanos"]
