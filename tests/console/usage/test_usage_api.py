"""The usage API over usage written by the gateway's own batch writer, on both backends."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from gptapi.kit import cursor as keyset
from tests.console.usage.seeding import Call, make_key, record_calls
from tests.support.console import Member, sign_in
from tests.support.platform import Platform

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # a Tuesday, on the hour


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def usage(member: Member, path: str, **params: Any) -> Any:
    response = member.client.get(f"/api/orgs/{member.org_id}/usage/{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def seed(console: Platform, member: Member) -> dict[str, Any]:
    """Two keys, two models, spread over hours 09:00-12:00 with off-hour minutes."""
    alpha = make_key(console, member.org_id, member.user_id, "alpha")
    beta = make_key(console, member.org_id, member.user_id, "=beta")  # a formula, for the CSV
    calls = [
        Call(at(5), "usage-small", alpha, 10, 5, 1_000),
        Call(at(20), "usage-small", beta, 20, 10, 2_000),
        Call(at(65), "usage-large", alpha, 100, 50, 30_000, status=502),
        Call(at(70), "usage-large", beta, 1, 1, 7),
        Call(at(130), "usage-small", alpha, 3, 4, 500),
        Call(at(185), "usage-large", alpha, 8, 9, 11_000),
    ]
    record_calls(console, member.org_id, member.user_id, calls)
    return {"alpha": alpha, "beta": beta, "calls": calls}


def totals_of(calls: list[Call]) -> dict[str, int]:
    return {
        "requests": len(calls),
        "prompt_tokens": sum(c.prompt for c in calls),
        "completion_tokens": sum(c.completion for c in calls),
        "cost_nanos": sum(c.cost for c in calls),
    }


def picked(body: dict[str, Any]) -> dict[str, int]:
    return {k: body[k] for k in ("requests", "prompt_tokens", "completion_tokens", "cost_nanos")}


def test_summary_is_exact_for_ranges_on_and_off_the_hour(console: Platform, member: Member) -> None:
    calls: list[Call] = seed(console, member)["calls"]
    for start, end in [
        (at(0), at(240)),  # whole hours: the rollup alone
        (at(10), at(180)),  # off the hour at both ends: rollup plus request rows
        (at(6), at(66)),  # within two hours: request rows alone
        (at(21), at(64)),  # nothing in it
    ]:
        body = usage(member, "summary", start=iso(start), end=iso(end))
        expected = totals_of([c for c in calls if start <= c.at < end])
        assert picked(body) == expected, (start, end)
        assert body["total_tokens"] == expected["prompt_tokens"] + expected["completion_tokens"]
        assert body["cost_usd"] == f"{Decimal(expected['cost_nanos']) / 10**9:.9f}"


def test_month_to_date_counts_this_month_only(console: Platform, member: Member) -> None:
    seed(console, member)  # March: not this month
    key = make_key(console, member.org_id, member.user_id, "now")
    now = datetime.now(UTC)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    recent = max(month_start, now - timedelta(seconds=30))
    record_calls(
        console, member.org_id, member.user_id, [Call(recent, "usage-small", key, cost=77)]
    )
    body = usage(member, "summary", start=iso(at(0)), end=iso(at(240)))
    assert body["month_to_date_cost_nanos"] == 77
    assert body["month_to_date_cost_usd"] == "0.000000077"


def test_hourly_timeseries_is_continuous_and_grouped(console: Platform, member: Member) -> None:
    seeded = seed(console, member)
    calls: list[Call] = seeded["calls"]
    body = usage(
        member,
        "timeseries",
        start=iso(at(30)),  # floored to 09:00
        end=iso(at(60 * 5)),
        granularity="hour",
        group_by="key",
    )
    starts = [datetime.fromisoformat(b["start"]) for b in body["buckets"]]
    assert starts == [T0 + timedelta(hours=h) for h in range(5)]
    for hour, bucket in enumerate(body["buckets"]):
        lo, hi = T0 + timedelta(hours=hour), T0 + timedelta(hours=hour + 1)
        assert picked(bucket) == totals_of([c for c in calls if lo <= c.at < hi])
    assert picked(body["buckets"][4]) == totals_of([])  # an empty hour is there, all zeros
    first = {g["name"]: g["cost_nanos"] for g in body["buckets"][0]["groups"]}
    assert first == {"alpha": 1_000, "=beta": 2_000}


def test_daily_timeseries_by_model(console: Platform, member: Member) -> None:
    calls: list[Call] = seed(console, member)["calls"]
    body = usage(
        member,
        "timeseries",
        start=iso(T0 - timedelta(days=1)),
        end=iso(T0 + timedelta(days=1)),
        granularity="day",
        group_by="model",
    )
    assert len(body["buckets"]) == 3  # 9th, 10th, 11th (the end is rounded up to whole days)
    assert [picked(b) for b in body["buckets"]] == [totals_of([]), totals_of(calls), totals_of([])]
    by_model = {g["name"]: g["requests"] for g in body["buckets"][1]["groups"]}
    assert by_model == {"usage-small": 3, "usage-large": 3}


def test_breakdown_by_model_and_by_key(console: Platform, member: Member) -> None:
    seeded = seed(console, member)
    calls: list[Call] = seeded["calls"]
    start, end = at(10), at(200)
    inside = [c for c in calls if start <= c.at < end]
    body = usage(member, "breakdown", start=iso(start), end=iso(end), by="model")
    models = {g["name"]: picked(g) for g in body["groups"]}
    assert models == {
        name: totals_of([c for c in inside if c.model == name])
        for name in ("usage-small", "usage-large")
    }
    assert [g["name"] for g in body["groups"]] == ["usage-large", "usage-small"]  # costliest first
    body = usage(member, "breakdown", start=iso(start), end=iso(end), by="key")
    keys = {g["id"]: (g["name"], g["key_prefix"], picked(g)) for g in body["groups"]}
    assert keys[str(seeded["alpha"])][0] == "alpha"
    assert keys[str(seeded["alpha"])][1].startswith("gpt_")
    assert keys[str(seeded["beta"])][2] == totals_of([c for c in inside if c.key == seeded["beta"]])


def test_request_log_pages_newest_first_with_filters(console: Platform, member: Member) -> None:
    seeded = seed(console, member)
    calls: list[Call] = seeded["calls"]
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = usage(member, "requests", **params)
        seen += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(calls)
    assert [r["cost_nanos"] for r in seen] == [c.cost for c in reversed(calls)]
    first = seen[0]
    assert first["model"] == "usage-large" and first["key"]["name"] == "alpha"
    assert first["total_tokens"] == 17 and first["cost_usd"] == "0.000011000"
    assert first["endpoint"] == "/v1/chat/completions" and first["latency_ms"] == 42

    failed = usage(member, "requests", status=502)["data"]
    assert [r["cost_nanos"] for r in failed] == [30_000]
    mine = usage(member, "requests", key_id=str(seeded["beta"]), model="usage-small")["data"]
    assert [r["cost_nanos"] for r in mine] == [2_000]
    window = usage(member, "requests", start=iso(at(60)), end=iso(at(131)))["data"]
    assert [r["cost_nanos"] for r in window] == [500, 7, 30_000]


def test_export_is_a_csv_download_with_the_same_filters(console: Platform, member: Member) -> None:
    seeded = seed(console, member)
    response = member.client.get(
        f"/api/orgs/{member.org_id}/usage/export.csv",
        params={"start": iso(at(0)), "end": iso(at(240))},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="usage-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(seeded["calls"])
    assert rows[0]["cost_nanos"] == "11000" and rows[0]["key_name"] == "alpha"
    assert {r["key_name"] for r in rows} == {"alpha", "'=beta"}  # never a live formula
    only = member.client.get(
        f"/api/orgs/{member.org_id}/usage/export.csv", params={"status": 502}
    ).text
    assert len(list(csv.DictReader(io.StringIO(only)))) == 1


def test_bad_input_is_a_clear_4xx(console: Platform, member: Member) -> None:
    base = f"/api/orgs/{member.org_id}/usage"
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        ("summary", {"start": iso(at(60)), "end": iso(at(0))}, 400, "invalid_range"),
        ("summary", {"start": "2026-03-10T09:00:00", "end": iso(at(60))}, 422, "validation_error"),
        ("summary", {"end": iso(at(60))}, 422, "validation_error"),
        (
            "timeseries",
            {"start": iso(at(0)), "end": iso(T0 + timedelta(days=60)), "granularity": "hour"},
            400,
            "too_many_buckets",
        ),
        ("timeseries", {"start": iso(at(0)), "end": iso(at(60)), "granularity": "week"}, 422, ""),
        ("breakdown", {"start": iso(at(0)), "end": iso(at(60)), "by": "colour"}, 422, ""),
        ("requests", {"cursor": "not-a-cursor"}, 400, "invalid_request"),
        ("requests", {"cursor": keyset.encode(T0, 2**70)}, 400, "invalid_request"),
        ("requests", {"start": "0001-01-01T00:00:00+05:00"}, 400, "invalid_range"),
        ("requests", {"end": "9999-12-31T23:59:59-05:00"}, 400, "invalid_range"),
        (
            "timeseries",
            {"start": iso(at(0)), "end": "9999-12-31T23:59:59Z", "granularity": "day"},
            400,
            "invalid_range",
        ),
        ("requests", {"limit": 0}, 422, "validation_error"),
        ("requests", {"key_id": "nope"}, 422, "validation_error"),
    ]
    for path, params, status, code in cases:
        response = member.client.get(f"{base}/{path}", params=params)
        assert response.status_code == status, (path, params, response.text)
        if code:
            assert response.json()["error"]["code"] == code


def test_other_organisations_usage_is_not_found(console: Platform, member: Member) -> None:
    seed(console, member)
    stranger = sign_in(console)
    try:
        for path in ("summary", "breakdown", "requests", "export.csv"):
            response = stranger.client.get(
                f"/api/orgs/{member.org_id}/usage/{path}",
                params={"start": iso(at(0)), "end": iso(at(240))},
            )
            assert response.status_code == 404, path
    finally:
        stranger.client.close()


def test_billing_and_developer_roles_may_read_usage(console: Platform, member: Member) -> None:
    seed(console, member)
    for role in ("billing", "developer"):
        colleague = sign_in(console, org_id=member.org_id, role=role)
        try:
            body = usage(colleague, "summary", start=iso(at(0)), end=iso(at(240)))
            assert body["requests"] == 6
        finally:
            colleague.client.close()


def test_latency_percentiles_per_model_over_completed_requests(
    console: Platform, member: Member
) -> None:
    key = make_key(console, member.org_id, member.user_id, "timed")
    calls = [Call(at(1 + i / 100), "usage-small", key, latency=10 * (i + 1)) for i in range(100)]
    calls.append(Call(at(2), "usage-small", key, status=502, latency=99_999))  # failed: left out
    calls.append(Call(at(3), "usage-large", key, latency=7))
    record_calls(console, member.org_id, member.user_id, calls)
    report = usage(member, "latency", start=iso(at(0)), end=iso(at(10)))
    assert report["sampled"] == 101
    groups = {g["model"]: g for g in report["groups"]}
    assert (groups["usage-small"]["p50_ms"], groups["usage-small"]["p90_ms"]) == (500, 900)
    assert groups["usage-small"]["p99_ms"] == 990
    assert groups["usage-small"]["requests"] == 100
    assert groups["usage-large"] == {
        "model": "usage-large",
        "requests": 1,
        "p50_ms": 7,
        "p90_ms": 7,
        "p99_ms": 7,
    }
    bad = member.client.get(
        f"/api/orgs/{member.org_id}/usage/latency",
        params={"start": iso(at(10)), "end": iso(at(0))},
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "end"


def test_refused_requests_are_filtered_with_their_reason(console: Platform, member: Member) -> None:
    key = make_key(console, member.org_id, member.user_id, "busy")
    record_calls(
        console,
        member.org_id,
        member.user_id,
        [
            Call(at(1), "usage-small", key),
            Call(at(2), "usage-small", key, 0, 0, 0, status=429, outcome="rate_limited"),
            Call(at(3), "usage-small", key, 0, 0, 0, status=403, outcome="model_not_allowed"),
        ],
    )
    window = {"start": iso(at(0)), "end": iso(at(10))}
    refused = usage(member, "requests", refused="true", **window)["data"]
    assert [(r["status"], r["outcome"], r["cost_nanos"]) for r in refused] == [
        (403, "model_not_allowed", 0),
        (429, "rate_limited", 0),
    ]
    admitted = usage(member, "requests", refused="false", **window)["data"]
    assert [r["outcome"] for r in admitted] == ["completed"]
