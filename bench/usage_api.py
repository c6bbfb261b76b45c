"""Usage API at scale: ten million usage rows in PostgreSQL, then every usage endpoint timed
against a baseline taken in the same run, then retention of the oldest month.

    .venv/bin/python -m bench.usage_api                 # 10M rows (a few minutes to load)
    .venv/bin/python -m bench.usage_api --rows 1000000  # quicker

The app runs in-process (its real lifespan, over httpx's ASGI transport), signed in as an
owner of the organisation that holds a tenth of all rows. The baseline is
GET /api/orgs/{org_id}: the same session and membership checks plus one primary-key read,
the least any console request costs. Each endpoint's median is printed as a multiple of the
baseline's; the raw sum over the organisation's request rows (what a report would cost
without the hourly rollup) is printed for scale. Last, the oldest month goes past the raw
usage retention: how long dropping it took, and whether the organisation's totals stayed the
same. Nothing is asserted: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from fastapi import Request, Response
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.progress import step
from bench.usage_data import Dataset, load
from gptapi.admin import service
from gptapi.app import create_app
from gptapi.config import Settings
from gptapi.console.auth.sessions import start_session
from gptapi.kit.clock import month_start, next_month
from gptapi.kit.db import create_engine, session_maker
from gptapi.kit.migrate import upgrade_async
from gptapi.models import Membership
from gptapi.usage_sums import HOUR, ceil_to, log_statement, sums
from gptapi.workers.usage_history import maintain_usage_history

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=15, help="timed calls per endpoint")
    parser.add_argument("--postgres", default=ADMIN_URL, help="server to create the db on")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


async def _admin(dsn: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _sign_in(
    app_url: str, settings: Settings, secret: bytes, data: Dataset
) -> dict[str, str]:
    engine = create_engine(app_url)
    try:
        async with session_maker(engine)() as session, session.begin():
            user, _ = await service.create_user(
                session, f"usage-reader-{uuid.uuid4().hex[:8]}@example.com"
            )
            session.add(Membership(organization_id=data.heavy_org, user_id=user.id, role="owner"))
            response = Response()
            scope = {"type": "http", "headers": [], "client": ("127.0.0.1", 0)}
            await start_session(
                session,
                user,
                request=Request(scope),
                response=response,
                settings=settings,
                secret_key=secret,
                now=datetime.now(UTC),
            )
    finally:
        await engine.dispose()
    cookies: dict[str, str] = {}
    for header in response.headers.getlist("set-cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    return cookies


async def _time(call: Callable[[], Awaitable[None]], rounds: int) -> list[float]:
    await call()  # warm caches and plans
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _iso(moment: datetime) -> str:
    return moment.isoformat()


async def measure(url: str, data: Dataset, rounds: int, tmp: Path) -> None:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=url,
        data_dir=tmp,
        local_inference="off",
        run_workers=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        cookies = await _sign_in(url, settings, app.state.runtime.console.secret_key, data)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", cookies=cookies
        ) as client:
            org = f"/api/orgs/{data.heavy_org}"
            end = data.end
            month = (end - timedelta(days=30)).replace(minute=17)
            cursor_page = await client.get(f"{org}/usage/requests", params={"limit": 50})
            cursor = cursor_page.json()["next_cursor"]
            cases: list[tuple[str, str, dict[str, str]]] = [
                ("baseline: GET org (PK read)", org, {}),
                (
                    "summary, 30 days off the hour",
                    f"{org}/usage/summary",
                    {"start": _iso(month), "end": _iso(end - timedelta(minutes=3))},
                ),
                (
                    "summary, 90 days",
                    f"{org}/usage/summary",
                    {"start": _iso(data.start), "end": _iso(end)},
                ),
                (
                    "timeseries, hourly, 7 days",
                    f"{org}/usage/timeseries",
                    {
                        "start": _iso(end - timedelta(days=7)),
                        "end": _iso(end),
                        "granularity": "hour",
                    },
                ),
                (
                    "timeseries, daily by model, 90 days",
                    f"{org}/usage/timeseries",
                    {
                        "start": _iso(data.start),
                        "end": _iso(end),
                        "granularity": "day",
                        "group_by": "model",
                    },
                ),
                (
                    "breakdown by key, 30 days",
                    f"{org}/usage/breakdown",
                    {"start": _iso(month), "end": _iso(end), "by": "key"},
                ),
                ("requests, first page", f"{org}/usage/requests", {"limit": "50"}),
                (
                    "requests, second page (cursor)",
                    f"{org}/usage/requests",
                    {"limit": "50", "cursor": cursor},
                ),
                (
                    "requests, one key",
                    f"{org}/usage/requests",
                    {"limit": "50", "key_id": str(data.heavy_keys[1])},
                ),
                ("requests, status 502", f"{org}/usage/requests", {"limit": "50", "status": "502"}),
                (
                    "export.csv, 1 hour",
                    f"{org}/usage/export.csv",
                    {"start": _iso(end - timedelta(hours=1)), "end": _iso(end)},
                ),
            ]
            results: list[tuple[str, float, float]] = []
            for name, path, params in cases:

                async def call(path: str = path, params: dict[str, str] = params) -> None:
                    response = await client.get(path, params=params)
                    response.raise_for_status()

                samples = await _time(call, rounds)
                results.append((name, statistics.median(samples), max(samples)))
                step(f"{name}: median {results[-1][1]:.1f} ms")

        engine = create_engine(url)
        try:
            raw = log_statement(data.heavy_org, month, end)

            async def scan() -> None:
                async with engine.connect() as conn:
                    await conn.execute(raw)

            samples = await _time(scan, max(3, rounds // 3))
            results.append(
                ("(raw sum over request rows, 30 days)", statistics.median(samples), max(samples))
            )
        finally:
            await engine.dispose()

    base = results[0][1]
    print()
    print(f"{data.rows:,} usage rows; the organisation read holds {data.rows // 10:,} of them")
    print(f"{'':40} {'median ms':>10} {'max ms':>9} {'÷ baseline':>11}")
    for name, median_ms, max_ms in results:
        print(f"{name:40} {median_ms:10.1f} {max_ms:9.1f} {median_ms / base:10.1f}x")


async def retention(url: str, data: Dataset) -> None:
    """The oldest month past the retention: its partition dropped once proven rolled up, and
    the organisation's totals over the whole range the same after as before."""
    oldest_kept = next_month(month_start(data.start))
    days = (data.end - oldest_kept).days
    if days <= 0:
        return
    # From the hour: past the retention there are no request rows left to sum part of one.
    start = ceil_to(data.start, HOUR)
    engine = create_engine(url)
    sessions = session_maker(engine)
    try:
        async with sessions() as session:
            before = await sums(session, data.heavy_org, start, data.end)
        started = time.perf_counter()
        outcome = await maintain_usage_history(engine, sessions, data.end, days)
        elapsed = time.perf_counter() - started
        async with sessions() as session:
            after = await sums(session, data.heavy_org, start, data.end)
    finally:
        await engine.dispose()
    same = "the same" if after == before else "DIFFERENT"
    print()
    print(
        f"retention at {days} days: dropped {', '.join(outcome.dropped) or 'nothing'}, "
        f"deleted {outcome.deleted:,} rows, in {elapsed:.1f} s (rollup check included); "
        f"the organisation's totals over the whole range are {same}"
    )


async def main() -> None:
    args = _args()
    name = f"gptapi_usage_bench_{uuid.uuid4().hex[:8]}"
    admin_dsn = (
        make_url(args.postgres).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    url = (
        make_url(args.postgres)
        .set(drivername="postgresql+asyncpg", database=name)
        .render_as_string(hide_password=False)
    )
    await _admin(admin_dsn, f'CREATE DATABASE "{name}"')
    step(f"database {name}")
    try:
        await upgrade_async(url)
        engine = create_engine(url)
        try:
            started = time.monotonic()
            data = await load(engine, rows=args.rows, end=datetime.now(UTC), progress=step)
            step(f"loaded in {time.monotonic() - started:.0f} s")
            async with engine.connect() as conn:
                size = (
                    await conn.execute(
                        text(
                            "SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) "
                            "FROM pg_inherits WHERE inhparent = 'usage_logs'::regclass"
                        )
                    )
                ).scalar_one()
            step(f"usage_logs with indexes: {size}")
        finally:
            await engine.dispose()
        with tempfile.TemporaryDirectory() as tmp:
            await measure(url, data, args.rounds, Path(tmp))
        await retention(url, data)
    finally:
        if not args.keep:
            await _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
