"""Usage records and their ledger entries, written by group commit.

Requests hand their `UsageEntry` to the writer and carry on. The writer takes whatever has
queued up, writes all of it in one transaction (usage rows, one ledger row each, the
organisations' balances and the hourly usage rollup) and then tells the credit accounts.
While the database is slow the batch simply grows, so throughput never waits on per-request
commits. Inserts ignore request ids already present, so a retried batch never charges (or
counts) twice. Shutdown drains.

On SQLite the whole transaction runs in one call on a dedicated thread (a blocking
connection), instead of one thread hop per statement through the async driver.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gptapi.gateway.credits import CreditAccounts
from gptapi.gateway.metrics import LEDGER_BATCH_SIZE, USAGE_QUEUE_DEPTH
from gptapi.kit.db import create_sqlite_sync_engine, is_sqlite
from gptapi.models import CreditTransaction, Organization, UsageHourly, UsageLog

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

    @property
    def ledger_key(self) -> str:
        return f"usage:{self.request_id}"

    def usage_row(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "organization_id": self.organization_id,
            "api_key_id": self.api_key_id,
            "user_id": self.user_id,
            "model_id": self.model_id,
            "endpoint": self.endpoint,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_nanos": self.cost_nanos,
            "status": self.status,
            "outcome": self.outcome,
            "metered_by": self.metered_by,
            "latency_ms": self.latency_ms,
            "upstream": self.upstream,
            "created_at": self.created_at,
        }

    def ledger_row(self) -> dict[str, Any]:
        return {
            "organization_id": self.organization_id,
            "amount_nanos": -self.cost_nanos,
            "kind": "usage",
            "idempotency_key": self.ledger_key,
            "description": f"{self.model_name} {self.endpoint}",
            "created_at": self.created_at,
        }


InsertFactory = Callable[..., Any]


def write_batch(
    conn: Connection, entries: list[UsageEntry], insert: InsertFactory, *, replay: bool
) -> dict[uuid.UUID, int]:
    """Insert the batch's usage and ledger rows and apply them to the balances.

    `replay` is for a batch that may already be (partly) committed: rows already present are
    skipped and only the new ones move balances. Otherwise plain inserts are used, the fast
    path; a duplicate there raises IntegrityError and the caller replays.
    Returns the balance of every organisation in the batch after the transaction.
    """
    usage_rows = [entry.usage_row() for entry in entries]
    ledger_rows = [entry.ledger_row() for entry in entries]
    deltas: dict[uuid.UUID, int] = defaultdict(int)
    if replay:
        conn.execute(
            insert(UsageLog).on_conflict_do_nothing(index_elements=["request_id"]), usage_rows
        )
        inserted = conn.execute(
            insert(CreditTransaction)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(CreditTransaction.idempotency_key),
            ledger_rows,
        )
        new_keys = set(inserted.scalars())
        # A usage row and its ledger row are always inserted together.
        written = [entry for entry in entries if entry.ledger_key in new_keys]
    else:
        conn.execute(insert(UsageLog), usage_rows)
        conn.execute(insert(CreditTransaction), ledger_rows)
        written = entries
    for entry in written:
        deltas[entry.organization_id] += entry.cost_nanos
    if written:
        add_to_rollup(conn, written, insert)
    balances: dict[uuid.UUID, int] = {}
    for organization_id, cost in deltas.items():
        balances[organization_id] = conn.execute(
            update(Organization)
            .where(Organization.id == organization_id)
            .values(balance_nanos=Organization.balance_nanos - cost)
            .returning(Organization.balance_nanos)
        ).scalar_one()
    for organization_id in {entry.organization_id for entry in entries} - balances.keys():
        # Every row of this organisation was already there: a replayed batch.
        balances[organization_id] = conn.execute(
            select(Organization.balance_nanos).where(Organization.id == organization_id)
        ).scalar_one()
    return balances


ROLLUP_KEYS = ("organization_id", "hour", "api_key_id", "model_id")
ROLLUP_SUMS = ("requests", "prompt_tokens", "completion_tokens", "cost_nanos")
RollupGroup = tuple[uuid.UUID, datetime, uuid.UUID, int]  # as ROLLUP_KEYS


def add_to_rollup(conn: Connection, entries: list[UsageEntry], insert: InsertFactory) -> None:
    """Add the entries to `usage_hourly`, one upsert per (organisation, hour, key, model)."""
    sums: dict[RollupGroup, list[int]] = {}
    for entry in entries:
        hour = entry.created_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        total = sums.setdefault(
            (entry.organization_id, hour, entry.api_key_id, entry.model_id), [0, 0, 0, 0]
        )
        total[0] += 1
        total[1] += entry.prompt_tokens
        total[2] += entry.completion_tokens
        total[3] += entry.cost_nanos
    statement = insert(UsageHourly)
    statement = statement.on_conflict_do_update(
        index_elements=list(ROLLUP_KEYS),
        set_={
            column: getattr(UsageHourly, column) + getattr(statement.excluded, column)
            for column in ROLLUP_SUMS
        },
    )
    # Sorted, so concurrent writers lock rows in the same order (no deadlock on PostgreSQL).
    groups = sorted(sums, key=lambda g: (str(g[0]), g[1], str(g[2]), g[3]))
    conn.execute(
        statement,
        [
            dict(zip(ROLLUP_KEYS + ROLLUP_SUMS, (*group, *sums[group]), strict=True))
            for group in groups
        ],
    )


class UsageWriter:
    def __init__(self, engine: AsyncEngine, accounts: CreditAccounts, *, batch_max: int) -> None:
        self._engine = engine
        self._accounts = accounts
        self._batch_max = batch_max
        self._queue: list[tuple[UsageEntry, asyncio.Future[None]]] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        url = engine.url.render_as_string(hide_password=False)
        self._sync_engine: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        if is_sqlite(url):
            self._sync_engine = create_sqlite_sync_engine(url)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="usage-writer")

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
                except IntegrityError:
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
            if self._thread is not None:
                self._thread.shutdown(wait=True)
            if self._sync_engine is not None:
                self._sync_engine.dispose()

    async def close(self) -> None:
        self._closing = True
        self._wakeup.set()

    async def _write(self, entries: list[UsageEntry], *, replay: bool) -> None:
        LEDGER_BATCH_SIZE.observe(len(entries))
        if self._sync_engine is not None:
            balances = await asyncio.get_running_loop().run_in_executor(
                self._thread, self._write_blocking, entries, replay
            )
        else:
            async with self._engine.begin() as conn:
                balances = await conn.run_sync(
                    lambda sync: write_batch(sync, entries, postgresql.insert, replay=replay)
                )
        costs: dict[uuid.UUID, int] = defaultdict(int)
        for entry in entries:
            costs[entry.organization_id] += entry.cost_nanos
        # Costs of this batch leave `pending` now, including any a retry found committed.
        for organization_id, cost in costs.items():
            self._accounts.committed(organization_id, cost, balances[organization_id])

    def _write_blocking(self, entries: list[UsageEntry], replay: bool) -> dict[uuid.UUID, int]:
        assert self._sync_engine is not None
        with self._sync_engine.begin() as conn:
            return write_batch(conn, entries, sqlite.insert, replay=replay)
