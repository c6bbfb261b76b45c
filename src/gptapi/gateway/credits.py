"""Credit holds: reserve a request's maximum cost before it runs, settle to the exact cost.

Per organisation the gateway keeps the last committed balance (from the database), the
cost of settled requests whose usage rows are not committed yet (`pending`) and the sum
of open holds. A hold is granted only while `committed - pending - held` covers it, and
the check and the increment happen with no await between them, so concurrent requests
cannot overdraw. Balances changed by other processes (grants, top-ups) are picked up by
re-reading the database every `refresh_seconds`.

This serves one gateway process, where the key cache counts keys' spend against their caps
(`gptapi.gateway.keys`). Several processes or replicas use the same interface on Redis
(`gptapi.gateway.shared_credit.RedisCreditAccounts`), where the sum of everyone's holds,
and each capped key's spend, is checked atomically.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select

from gptapi.kit.db import SessionMaker
from gptapi.models import Organization


class CreditStoreUnavailable(Exception):
    """The shared credit store (Redis) did not answer: no hold can be granted."""


class SpendCapReached(Exception):
    """The key's month-to-date spend, with its requests in flight, is at its cap."""


@dataclass(frozen=True, slots=True)
class SpendCap:
    key_id: uuid.UUID
    cap_nanos: int


class InsufficientCredit(Exception):
    def __init__(self, available: int, required: int) -> None:
        super().__init__(f"available {available}, required {required}")
        self.available = available
        self.required = required


@dataclass(slots=True)
class Hold:
    organization_id: uuid.UUID
    amount: int
    open: bool = True
    id: str = ""  # names the hold in a shared store


@dataclass(frozen=True, slots=True)
class Charge:
    """A usage row just committed, as a shared store needs it: the hold it closes, and the
    cost its key's spend this month (`YYYY-MM`, UTC) grows by."""

    hold_id: str
    key_id: uuid.UUID
    cost: int
    month: str


class CreditStore(Protocol):
    """What the gateway needs of credit holds, in memory or on Redis."""

    async def reserve(
        self, organization_id: uuid.UUID, amount: int, cap: SpendCap | None = None
    ) -> Hold: ...

    async def settle(self, hold: Hold, cost: int) -> None: ...

    async def release(self, hold: Hold) -> None: ...

    async def committed(
        self, organization_id: uuid.UUID, cost: int, balance: int, charges: Iterable[Charge] = ()
    ) -> None: ...

    def held(self, organization_id: uuid.UUID) -> int: ...


@dataclass(slots=True)
class _Account:
    committed: int
    fetched_at: float
    pending: int = 0
    held: int = 0
    commits: int = 0  # bumped on every commit, so a refresh racing a commit is discarded

    @property
    def available(self) -> int:
        return self.committed - self.pending - self.held


class CreditAccounts:
    def __init__(self, sessions: SessionMaker, *, refresh_seconds: float) -> None:
        self._sessions = sessions
        self._refresh = refresh_seconds
        self._accounts: dict[uuid.UUID, _Account] = {}
        self._loading: dict[uuid.UUID, asyncio.Task[None]] = {}

    async def reserve(
        self, organization_id: uuid.UUID, amount: int, cap: SpendCap | None = None
    ) -> Hold:
        # `cap` is the key cache's to enforce in a process of its own.
        account = await self._fresh(organization_id)
        if account.available < amount:
            raise InsufficientCredit(max(0, account.available), amount)
        account.held += amount
        return Hold(organization_id, amount)

    async def settle(self, hold: Hold, cost: int) -> None:
        """Close the hold; `cost` stays pending until its usage row commits."""
        if not hold.open:
            raise RuntimeError("hold already settled")
        hold.open = False
        account = self._accounts[hold.organization_id]
        account.held -= hold.amount
        account.pending += cost

    async def release(self, hold: Hold) -> None:
        if hold.open:
            hold.open = False
            self._accounts[hold.organization_id].held -= hold.amount

    async def committed(
        self, organization_id: uuid.UUID, cost: int, balance: int, charges: Iterable[Charge] = ()
    ) -> None:
        """Called by the usage writer once rows costing `cost` are committed."""
        account = self._accounts.get(organization_id)
        if account is None:
            return
        account.pending -= cost
        account.committed = balance
        account.commits += 1

    def available(self, organization_id: uuid.UUID) -> int | None:
        account = self._accounts.get(organization_id)
        return None if account is None else account.available

    def held(self, organization_id: uuid.UUID) -> int:
        """Open holds of this organisation in this process (requests still running)."""
        account = self._accounts.get(organization_id)
        return 0 if account is None else account.held

    async def _fresh(self, organization_id: uuid.UUID) -> _Account:
        account = self._accounts.get(organization_id)
        if account is not None and time.monotonic() - account.fetched_at <= self._refresh:
            return account
        task = self._loading.get(organization_id)
        if task is None:
            task = asyncio.create_task(self._load(organization_id))
            self._loading[organization_id] = task
            task.add_done_callback(lambda _: self._loading.pop(organization_id, None))
        await asyncio.shield(task)
        return self._accounts[organization_id]

    async def _load(self, organization_id: uuid.UUID) -> None:
        account = self._accounts.get(organization_id)
        commits_before = account.commits if account is not None else 0
        async with self._sessions() as session:
            balance = await session.scalar(
                select(Organization.balance_nanos).where(Organization.id == organization_id)
            )
        account = self._accounts.get(organization_id)
        if account is None:
            self._accounts[organization_id] = _Account(balance or 0, time.monotonic())
            return
        account.fetched_at = time.monotonic()
        if account.commits == commits_before:
            account.committed = balance or 0
