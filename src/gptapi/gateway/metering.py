"""Usage records and their ledger entries, written by group commit.

Requests hand their `UsageEntry` to the writer and carry on. The writer takes whatever has
queued up, writes all of it in one transaction (usage rows, one ledger row each, the
organisations' balances and the hourly usage rollup) and then tells the credit accounts.
While the database is slow the batch simply grows, so throughput never waits on per-request
commits. A batch retried after a failure (whose commit may have happened) first drops the
requests whose usage row is already there, so it never charges (or counts) twice.
Shutdown drains.

The writes are raw SQL on the driver (`sqlite3` on a dedicated thread, asyncpg on
PostgreSQL): SQLAlchemy's statement handling cost more than the writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gptapi.gateway.credits import Charge, CreditStore
from gptapi.gateway.metrics import LEDGER_BATCH_SIZE, USAGE_QUEUE_DEPTH
from gptapi.kit.clock import month_label
from gptapi.kit.db import connect_sqlite, is_sqlite

log = logging.getLogger(__name__)


@dataclass(slots=True)
class UsageEntry:
    request_id: str
    organization_id: uuid.UUID
    api_key_id: uuid.UUID
    user_id: uuid.UUID
    model_id: int
    model_name: str
    endpoint: str
    prompt_tokens: int
    completion_tokens: int
    cost_nanos: int
    status: int
    outcome: str
    metered_by: str
    latency_ms: int
    upstream: str
    created_at: datetime
    test_mode: bool = False  # recorded, never charged: no ledger row
    hold_nanos: int = 0  # what was reserved (cost_nanos never exceeds it)
    over_hold_nanos: int = 0  # reported cost above the hold, not charged
    hold_id: str = ""  # the credit hold it settled, named so a shared store can close it
    characters: int = 0  # read out (speech)
    audio_seconds: int = 0  # heard (transcription)
    images: int = 0  # images billed (image models)

    @property
    def ledger_key(self) -> str:
        return f"usage:{self.request_id}"

    @property
    def description(self) -> str:
        if self.images:
            shown = "1 image" if self.images == 1 else f"{self.images} images"
            return f"{self.model_name} {self.endpoint}, {shown}"
        return f"{self.model_name} {self.endpoint}"


# Raw SQL, each statement written once per backend at import: the usage batch is the one
# write on every request's path (at one request in flight, every request is its own batch),
# and building SQLAlchemy statements per batch cost more than the writes themselves.
USAGE_COLUMNS = (
    "request_id",
    "organization_id",
    "api_key_id",
    "user_id",
    "model_id",
    "endpoint",
    "prompt_tokens",
    "completion_tokens",
    "cost_nanos",
    "status",
    "outcome",
    "metered_by",
    "latency_ms",
    "upstream",
    "created_at",
    "test_mode",
    "hold_nanos",
    "over_hold_nanos",
    "characters",
    "audio_seconds",
    "images",
)
LEDGER_COLUMNS = (
    "organization_id",
    "amount_nanos",
    "kind",
    "idempotency_key",
    "description",
    "created_at",
)
ROLLUP_KEYS = ("organization_id", "hour", "api_key_id", "model_id")
ROLLUP_SUMS = (
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cost_nanos",
    "characters",
    "audio_seconds",
    "images",
)


@dataclass(frozen=True, slots=True)
class Statements:
    usage: str
    ledger: str
    rollup: str
    debit: str
    balance: str

    @classmethod
    def build(cls, mark: Callable[[int], str]) -> Statements:
        """`mark(n)`: the backend's placeholder for the n-th parameter (from 1)."""

        def insert(table: str, columns: tuple[str, ...]) -> str:
            marks = ", ".join(mark(n) for n in range(1, len(columns) + 1))
            return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"

        sums = ", ".join(f"{c} = usage_hourly.{c} + excluded.{c}" for c in ROLLUP_SUMS)
        return cls(
            usage=insert("usage_logs", USAGE_COLUMNS),
            ledger=insert("credit_transactions", LEDGER_COLUMNS),
            rollup=insert("usage_hourly", ROLLUP_KEYS + ROLLUP_SUMS)
            + f" ON CONFLICT ({', '.join(ROLLUP_KEYS)}) DO UPDATE SET {sums}",
            debit=f"UPDATE organizations SET balance_nanos = balance_nanos - {mark(1)} "
            f"WHERE id = {mark(2)} RETURNING balance_nanos",
            balance=f"SELECT balance_nanos FROM organizations WHERE id = {mark(1)}",
        )


SQLITE_SQL = Statements.build(lambda _: "?")
POSTGRES_SQL = Statements.build(lambda n: f"${n}")


def _sqlite_id(value: uuid.UUID) -> str:
    return value.hex  # how SQLAlchemy's Uuid stores it on SQLite


def _sqlite_time(value: datetime) -> str:
    # How SQLAlchemy's DateTime stores it on SQLite: naive UTC, microseconds always shown.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _native(value: Any) -> Any:
    return value


@dataclass(slots=True)
class Batch:
    """One group commit's rows, already in the backend's parameter form."""

    usage: list[tuple[Any, ...]]
    ledger: list[tuple[Any, ...]]
    rollup: list[tuple[Any, ...]]
    costs: dict[uuid.UUID, int]  # per organisation, over the rows written
    organizations: set[uuid.UUID]  # every organisation of the batch, written or not

    @classmethod
    def of(
        cls,
        entries: list[UsageEntry],
        everyone: set[uuid.UUID],
        ident: Callable[[uuid.UUID], Any],
        time: Callable[[datetime], Any],
    ) -> Batch:
        costs: dict[uuid.UUID, int] = defaultdict(int)
        sums: dict[tuple[uuid.UUID, datetime, uuid.UUID, int], list[int]] = {}
        usage, ledger = [], []
        for e in entries:
            org, key, created = ident(e.organization_id), ident(e.api_key_id), time(e.created_at)
            usage.append(
                (
                    e.request_id,
                    org,
                    key,
                    ident(e.user_id),
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
                    created,
                    e.test_mode,
                    e.hold_nanos,
                    e.over_hold_nanos,
                    e.characters,
                    e.audio_seconds,
                    e.images,
                )
            )
            if not e.test_mode:  # test-mode requests are recorded but never touch the ledger
                ledger.append((org, -e.cost_nanos, "usage", e.ledger_key, e.description, created))
            costs[e.organization_id] += e.cost_nanos
            hour = e.created_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            total = sums.setdefault((e.organization_id, hour, e.api_key_id, e.model_id), [0] * 7)
            total[0] += 1
            total[1] += e.prompt_tokens
            total[2] += e.completion_tokens
            total[3] += e.cost_nanos
            total[4] += e.characters
            total[5] += e.audio_seconds
            total[6] += e.images
        # Sorted, so concurrent writers lock rollup rows in the same order (no deadlock on
        # PostgreSQL).
        groups = sorted(sums, key=lambda g: (str(g[0]), g[1], str(g[2]), g[3]))
        rollup = [(ident(g[0]), time(g[1]), ident(g[2]), g[3], *sums[g]) for g in groups]
        return cls(usage, ledger, rollup, costs, everyone)


class DuplicateUsage(Exception):
    """A row of the batch is already committed: the batch is written again as a replay."""


def _missing(entries: list[UsageEntry], present: set[str]) -> list[UsageEntry]:
    # A usage row and its ledger row (if it has one) are always committed together.
    return [entry for entry in entries if entry.request_id not in present]


class SqliteUsageStore:
    """Each batch is one transaction in one call on a dedicated thread, on a plain `sqlite3`
    connection (no thread hop per statement, no statement building)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._db: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="usage-writer")

    async def write(self, entries: list[UsageEntry], *, replay: bool) -> dict[uuid.UUID, int]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._write, entries, replay)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _write(self, entries: list[UsageEntry], replay: bool) -> dict[uuid.UUID, int]:
        if self._db is None:
            self._db = connect_sqlite(self._url)
        db, sql = self._db, SQLITE_SQL
        db.execute("BEGIN IMMEDIATE")
        try:
            everyone = {entry.organization_id for entry in entries}
            if replay:
                ids = [entry.request_id for entry in entries]
                found = db.execute(
                    "SELECT request_id FROM usage_logs WHERE request_id IN "
                    f"({', '.join('?' * len(ids))})",
                    ids,
                )
                entries = _missing(entries, {key for (key,) in found})
            batch = Batch.of(entries, everyone, _sqlite_id, _sqlite_time)
            db.executemany(sql.usage, batch.usage)
            db.executemany(sql.ledger, batch.ledger)
            db.executemany(sql.rollup, batch.rollup)
            balances = {}
            for org in batch.organizations:
                cost = batch.costs.get(org)
                row = (
                    db.execute(sql.debit, (cost, org.hex))
                    if cost is not None
                    else db.execute(sql.balance, (org.hex,))
                ).fetchone()
                balances[org] = int(row[0])
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if getattr(exc, "sqlite_errorname", "") == "SQLITE_CONSTRAINT_UNIQUE":
                raise DuplicateUsage(str(exc)) from exc
            raise
        return balances


class PostgresUsageStore:
    """Each batch is one transaction on a connection the writer keeps, through asyncpg
    directly: its prepared statements and binary executemany, without SQLAlchemy."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    async def write(self, entries: list[UsageEntry], *, replay: bool) -> dict[uuid.UUID, int]:
        import asyncpg  # here: a SQLite deployment never loads the driver

        if self._conn is None:
            self._conn = await self._engine.connect()
        raw: Any = (await self._conn.get_raw_connection()).driver_connection
        sql = POSTGRES_SQL
        try:
            async with raw.transaction():
                everyone = {entry.organization_id for entry in entries}
                if replay:
                    found = await raw.fetch(
                        "SELECT request_id FROM usage_logs WHERE request_id = ANY($1::text[])",
                        [entry.request_id for entry in entries],
                    )
                    entries = _missing(entries, {row[0] for row in found})
                batch = Batch.of(entries, everyone, _native, _native)
                for statement, rows in (
                    (sql.usage, batch.usage),
                    (sql.ledger, batch.ledger),
                    (sql.rollup, batch.rollup),
                ):
                    if rows:
                        await raw.executemany(statement, rows)
                balances = {}
                for org in batch.organizations:
                    cost = batch.costs.get(org)
                    balances[org] = int(
                        await raw.fetchval(sql.debit, cost, org)
                        if cost is not None
                        else await raw.fetchval(sql.balance, org)
                    )
        except asyncpg.UniqueViolationError as exc:
            raise DuplicateUsage(str(exc)) from exc
        except BaseException:
            await self._discard()
            raise
        return balances

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _discard(self) -> None:
        """After an unknown failure the connection may be broken: never reuse it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()


UsageStore = SqliteUsageStore | PostgresUsageStore


def usage_store(engine: AsyncEngine) -> UsageStore:
    url = engine.url.render_as_string(hide_password=False)
    return SqliteUsageStore(url) if is_sqlite(url) else PostgresUsageStore(engine)


async def write_batch(
    engine: AsyncEngine, entries: list[UsageEntry], *, replay: bool = False
) -> dict[uuid.UUID, int]:
    """Write one batch exactly as the usage writer does; the organisations' new balances.

    `replay` is for a batch that may already be (partly) committed: rows already present are
    skipped and only the new ones move balances. Otherwise a duplicate raises
    `DuplicateUsage`.
    """
    store = usage_store(engine)
    try:
        return await store.write(entries, replay=replay)
    finally:
        await store.close()


class UsageWriter:
    def __init__(self, engine: AsyncEngine, accounts: CreditStore, *, batch_max: int) -> None:
        self._accounts = accounts
        self._batch_max = batch_max
        self._queue: list[tuple[UsageEntry, asyncio.Future[None]]] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._store = usage_store(engine)

    def submit(self, entry: UsageEntry) -> asyncio.Future[None]:
        """Queue `entry`; the future resolves when its batch has committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((entry, future))
        USAGE_QUEUE_DEPTH.set(len(self._queue))
        self._wakeup.set()
        return future

    async def run(self) -> None:
        delay, replay = 0.05, False
        try:
            while True:
                if not self._queue:
                    if self._closing:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                batch = self._queue[: self._batch_max]
                try:
                    await self._write([entry for entry, _ in batch], replay=replay)
                except DuplicateUsage:
                    if replay:
                        raise
                    replay = True  # a row is already there: write only what is missing
                    continue
                except Exception:
                    log.exception("usage batch of %d failed; retrying in %.2fs", len(batch), delay)
                    # The commit may have happened anyway: the retry must not charge twice.
                    replay = True
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                delay, replay = 0.05, False
                del self._queue[: len(batch)]
                USAGE_QUEUE_DEPTH.set(len(self._queue))
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            await self._store.close()

    async def close(self) -> None:
        self._closing = True
        self._wakeup.set()

    async def _write(self, entries: list[UsageEntry], *, replay: bool) -> None:
        LEDGER_BATCH_SIZE.observe(len(entries))
        balances = await self._store.write(entries, replay=replay)
        costs: dict[uuid.UUID, int] = defaultdict(int)
        charges: dict[uuid.UUID, list[Charge]] = defaultdict(list)
        for entry in entries:
            costs[entry.organization_id] += entry.cost_nanos
            if entry.hold_id:
                month = month_label(entry.created_at)
                charge = Charge(entry.hold_id, entry.api_key_id, entry.cost_nanos, month)
                charges[entry.organization_id].append(charge)
        # Costs of this batch leave `pending` now, including any a retry found committed.
        for organization_id, cost in costs.items():
            await self._accounts.committed(
                organization_id, cost, balances[organization_id], charges[organization_id]
            )
