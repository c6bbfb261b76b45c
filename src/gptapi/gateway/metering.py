"""Usage records and their ledger entries, written by group commit.

Requests hand their `UsageEntry` to the writer and carry on. The writer takes whatever has
queued up, writes all of it in one transaction (usage rows, one ledger row each, and the
organisations' balances) and then tells the credit accounts. While the database is slow
the batch simply grows, so throughput never waits on per-request commits. Inserts ignore
request ids already present, so a retried batch never charges twice. Shutdown drains.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from gptapi.gateway.credits import CreditAccounts
from gptapi.gateway.metrics import LEDGER_BATCH_SIZE, USAGE_QUEUE_DEPTH
from gptapi.models import CreditTransaction, Organization, UsageLog

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

    def usage_row(self) -> dict[str, Any]:
        row = asdict(self)
        del row["model_name"]
        return row

    def ledger_row(self) -> dict[str, Any]:
        return {
            "organization_id": self.organization_id,
            "amount_nanos": -self.cost_nanos,
            "kind": "usage",
            "idempotency_key": f"usage:{self.request_id}",
            "description": f"{self.model_name} {self.endpoint}",
            "created_at": self.created_at,
        }


class UsageWriter:
    def __init__(self, engine: AsyncEngine, accounts: CreditAccounts, *, batch_max: int) -> None:
        self._engine = engine
        self._accounts = accounts
        self._batch_max = batch_max
        self._queue: list[tuple[UsageEntry, asyncio.Future[None]]] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def submit(self, entry: UsageEntry) -> asyncio.Future[None]:
        """Queue `entry`; the future resolves when its batch has committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((entry, future))
        USAGE_QUEUE_DEPTH.set(len(self._queue))
        self._wakeup.set()
        return future

    @property
    def backlog(self) -> int:
        return len(self._queue)

    async def run(self) -> None:
        delay = 0.05
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._queue[: self._batch_max]
            try:
                await self._write([entry for entry, _ in batch])
            except Exception:
                log.exception("usage batch of %d failed; retrying in %.2fs", len(batch), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.05
            del self._queue[: len(batch)]
            USAGE_QUEUE_DEPTH.set(len(self._queue))
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def close(self) -> None:
        self._closing = True
        self._wakeup.set()

    async def _write(self, entries: list[UsageEntry]) -> None:
        LEDGER_BATCH_SIZE.observe(len(entries))
        async with self._engine.begin() as conn:
            await conn.execute(
                self._insert(UsageLog).on_conflict_do_nothing(index_elements=["request_id"]),
                [entry.usage_row() for entry in entries],
            )
            inserted = await conn.execute(
                self._insert(CreditTransaction)
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(CreditTransaction.idempotency_key),
                [entry.ledger_row() for entry in entries],
            )
            new_keys = set(inserted.scalars())
            deltas: dict[uuid.UUID, int] = defaultdict(int)
            for entry in entries:
                if f"usage:{entry.request_id}" in new_keys:
                    deltas[entry.organization_id] += entry.cost_nanos
            balances: dict[uuid.UUID, int] = {}
            for organization_id, cost in deltas.items():
                balances[organization_id] = (
                    await conn.execute(
                        update(Organization)
                        .where(Organization.id == organization_id)
                        .values(balance_nanos=Organization.balance_nanos - cost)
                        .returning(Organization.balance_nanos)
                    )
                ).scalar_one()
        # Costs of this batch leave `pending` now, including any a retry found committed.
        costs: dict[uuid.UUID, int] = defaultdict(int)
        for entry in entries:
            costs[entry.organization_id] += entry.cost_nanos
        for organization_id, cost in costs.items():
            balance = balances.get(organization_id)
            if balance is None:
                balance = await self._balance(organization_id)
            self._accounts.committed(organization_id, cost, balance)

    async def _balance(self, organization_id: uuid.UUID) -> int:
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                Organization.__table__.select()
                .with_only_columns(Organization.balance_nanos)
                .where(Organization.id == organization_id)
            )
        return int(value or 0)
