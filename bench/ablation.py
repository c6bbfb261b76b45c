"""What-if variants of the gateway, for `python -m bench --ablate`: each monkeypatches one
piece of the running app (never the source tree) to show what a suggested change would buy.

    BENCH_ABLATE=raw-sqlite-writer,plain-route python -m bench.gateway_server --port …

- `no-commit-wait`: answer without waiting for the usage batch to commit (metering still
  runs; only the response no longer waits for it). Not a proposal: it shows the wait's cost.
- `raw-sqlite-writer`: the usage writer's batch as one transaction on a plain sqlite3
  connection in ONE thread hop (same rows, same idempotency, same balance update), instead
  of SQLAlchemy Core over aiosqlite (a thread hop per statement, cursor and commit).
- `plain-route`: POST /v1/chat/completions dispatched straight to `OpenAIServing.handle`
  under the same RequestContextMiddleware, skipping FastAPI's router, dependency solving,
  exit stacks and middleware stack (every other route still goes through FastAPI).
- `no-telemetry`: FastAPI's native telemetry check (which reads os.environ per request)
  reported off, as `FastAPI(telemetry={...: False})` would.

These lean on private details of gptapi and FastAPI and may need updating when they change;
the main benchmark does not use them.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy.engine import make_url
from starlette.requests import Request
from starlette.responses import Response

from gptapi.config import Settings
from gptapi.gateway.errors import OpenAIError
from gptapi.gateway.metering import UsageEntry, UsageWriter
from gptapi.gateway.middleware import RequestContextMiddleware

VARIANTS = ("no-commit-wait", "raw-sqlite-writer", "plain-route", "no-telemetry")

ASGIApp = Any


def apply(modes: set[str], settings: Settings, app: ASGIApp) -> ASGIApp:
    unknown = modes - set(VARIANTS)
    if unknown:
        raise SystemExit(f"unknown BENCH_ABLATE modes: {sorted(unknown)}")
    if "no-commit-wait" in modes:
        from gptapi.gateway.openai import serving

        serving.COMMIT_WAIT_SECONDS = 0.0
    if "raw-sqlite-writer" in modes:
        _raw_sqlite_writer(settings.resolved_database_url)
    if "no-telemetry" in modes:
        telemetry = getattr(app, "_native_telemetry", None)
        if telemetry is not None:
            telemetry.enabled = lambda: False
    if "plain-route" in modes:
        app = _plain_route(app, settings)
    return app


def _plain_route(app: ASGIApp, settings: Settings) -> ASGIApp:
    from gptapi.gateway.openai.router import _CHAT

    async def chat(scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        try:
            response = await app.state.serving.handle(request, _CHAT)
        except OpenAIError as exc:
            response = Response(exc.json_bytes(), exc.status, exc.headers, "application/json")
        await response(scope, receive, send)

    fast = RequestContextMiddleware(chat, max_body_bytes=settings.max_request_body_bytes)

    async def dispatch(scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/v1/chat/completions"
            and scope["method"] == "POST"
        ):
            await fast(scope, receive, send)
        else:
            await app(scope, receive, send)

    return dispatch


_USAGE_INSERT = (
    "INSERT INTO usage_logs (request_id, organization_id, api_key_id, user_id, model_id, "
    "endpoint, prompt_tokens, completion_tokens, cost_nanos, status, outcome, metered_by, "
    "latency_ms, upstream, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT (request_id) DO NOTHING"
)
_LEDGER_INSERT = (
    "INSERT INTO credit_transactions (organization_id, amount_nanos, kind, idempotency_key, "
    "description, created_at) VALUES (?,?,?,?,?,?) ON CONFLICT (idempotency_key) DO NOTHING"
)
_DEBIT = (
    "UPDATE organizations SET balance_nanos = balance_nanos - ? WHERE id = ? "
    "RETURNING balance_nanos"
)
_BALANCE = "SELECT balance_nanos FROM organizations WHERE id = ?"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite DateTime format


def _write_batch(connection: sqlite3.Connection, entries: list[UsageEntry]) -> dict[str, int]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.executemany(
            _USAGE_INSERT,
            [
                (
                    e.request_id,
                    e.organization_id.hex,
                    e.api_key_id.hex,
                    e.user_id.hex,
                    e.model_id,
                    e.endpoint,
                    e.prompt_tokens,
                    e.completion_tokens,
                    e.cost_nanos,
                    e.status,
                    e.outcome,
                    e.metered_by,
                    e.latency_ms,
                    e.upstream,
                    _when(e.created_at),
                )
                for e in entries
            ],
        )
        deltas: dict[str, int] = defaultdict(int)
        for e in entries:
            organization = e.organization_id.hex
            cursor = connection.execute(
                _LEDGER_INSERT,
                (
                    organization,
                    -e.cost_nanos,
                    "usage",
                    f"usage:{e.request_id}",
                    f"{e.model_name} {e.endpoint}",
                    _when(e.created_at),
                ),
            )
            deltas[organization] += e.cost_nanos if cursor.rowcount else 0
        balances: dict[str, int] = {}
        for organization, cost in deltas.items():
            statement, params = (
                (_DEBIT, (cost, organization)) if cost else (_BALANCE, (organization,))
            )
            balances[organization] = int(connection.execute(statement, params).fetchone()[0])
        connection.execute("COMMIT")
        return balances
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _raw_sqlite_writer(url: str) -> None:
    database = make_url(url).database
    if make_url(url).get_backend_name() != "sqlite" or not database:
        raise SystemExit("raw-sqlite-writer needs a SQLite database file")
    connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    # The same pragmas as gptapi.kit.db gives every SQLAlchemy connection.
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "busy_timeout=30000",
    ):
        connection.execute(f"PRAGMA {pragma}")

    async def _write(self: UsageWriter, entries: list[UsageEntry]) -> None:
        # The writer runs one batch at a time, so the connection is never used concurrently.
        balances = await asyncio.to_thread(_write_batch, connection, entries)
        costs: dict[uuid.UUID, int] = defaultdict(int)
        for entry in entries:
            costs[entry.organization_id] += entry.cost_nanos
        for organization_id, cost in costs.items():
            self._accounts.committed(organization_id, cost, balances[organization_id.hex])

    UsageWriter._write = _write  # type: ignore[method-assign]
