"""API key authentication with an in-memory cache.

A verified key is trusted from memory for `key_cache_ttl_seconds`, so revoking it in the
database takes effect everywhere within that many seconds without a query per request.
Expiry is checked on every request against the cached `expires_at`, so it is exact.
`last_used_at` is collected in memory and written in one batch periodically.
Unknown tokens are cached too (briefly), so the cache is bounded: anyone can send endless
well-formed fake keys, and each would otherwise stay in memory for good.

A key with a monthly spend cap carries its month-to-date spend, read (`gptapi.usage_sums`) when
the key is (re)loaded, plus the credit hold (the worst-case cost) of every request admitted
since then that was still running when the load began: those have no usage row yet. Running
requests count at their worst case, so the cap errs on the side of the customer's money; a
request that finished but whose usage row is still being written when a load runs is missed
until the next load. With Redis (`count_spend` off), the credit store counts capped keys'
spend across every process instead (`gptapi.gateway.shared_credit`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.gateway.credits import Hold, SpendCap
from gptapi.kit.clock import month_start, next_month
from gptapi.kit.db import SessionMaker
from gptapi.kit.key_scopes import Scope, scopes_of
from gptapi.kit.secrets import hash_api_key, looks_like_api_key
from gptapi.models import ApiKey, Organization, User
from gptapi.usage_sums import cost_by_key

log = logging.getLogger(__name__)

# Past this many cached tokens, expired entries are dropped, then unknown tokens.
MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class KeyContext:
    key_id: uuid.UUID
    organization_id: uuid.UUID
    user_id: uuid.UUID
    rpm_limit: int  # 0: unlimited
    tpm_limit: int
    expires_at: datetime | None
    allowed_models: frozenset[str] | None  # None: every model
    monthly_spend_cap_nanos: int | None  # None: no cap
    # A test-mode key: nothing is held against the balance and nothing charged.
    test_mode: bool = False
    key_prefix: str = ""  # what logs name the key by (never the secret)
    # False for an account key made without the `inference` scope: /api only.
    inference: bool = True

    def may_use(self, model: str) -> bool:
        return self.allowed_models is None or model in self.allowed_models

    @property
    def limiter_key(self) -> str:
        return self.key_id.hex

    @property
    def spend_cap(self) -> SpendCap | None:
        cap = self.monthly_spend_cap_nanos
        return None if cap is None else SpendCap(self.key_id, cap)


@dataclass(slots=True)
class _Entry:
    context: KeyContext | None
    fetched_at: float


class KeyCache:
    def __init__(
        self,
        sessions: SessionMaker,
        *,
        ttl: float,
        negative_ttl: float,
        default_rpm: int,
        default_tpm: int,
        test_rpm: int,
        test_tpm: int,
        max_entries: int = MAX_ENTRIES,
        count_spend: bool = True,
    ) -> None:
        self._sessions = sessions
        self._count_spend = count_spend
        self._max_entries = max_entries
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._default_rpm = default_rpm
        self._default_tpm = default_tpm
        self._test_rpm = test_rpm
        self._test_tpm = test_tpm
        self._entries: dict[str, _Entry] = {}
        self._loading: dict[str, asyncio.Future[KeyContext | None]] = {}
        self._touched: dict[uuid.UUID, datetime] = {}
        # Capped keys: month-to-date spend at the last load, and holds admitted since.
        self._spend: dict[uuid.UUID, int] = {}
        self._charges: dict[uuid.UUID, list[Hold]] = {}

    async def authenticate(self, token: str) -> KeyContext | None:
        """The key's context, or None when the token is unknown, revoked or expired."""
        if not looks_like_api_key(token):
            return None
        digest = hash_api_key(token)
        now = time.monotonic()
        entry = self._entries.get(digest)
        ttl = self._ttl if entry is not None and entry.context is not None else self._negative_ttl
        if entry is None or now - entry.fetched_at > ttl:
            context = await self._load_once(digest)
        else:
            context = entry.context
        if context is None:
            return None
        wall = datetime.now(UTC)
        if context.expires_at is not None and context.expires_at <= wall:
            return None
        self._touched[context.key_id] = wall
        return context

    def cap_reached(self, context: KeyContext) -> bool:
        cap = context.monthly_spend_cap_nanos
        if cap is None or not self._count_spend:
            return False
        held = sum(hold.amount for hold in self._charges.get(context.key_id, ()))
        return self._spend.get(context.key_id, 0) + held >= cap

    def charge(self, context: KeyContext, hold: Hold) -> None:
        """Count an admitted request against its key's cap until a load sees its usage row."""
        if context.monthly_spend_cap_nanos is not None and self._count_spend:
            self._charges.setdefault(context.key_id, []).append(hold)

    def forget(self, token: str) -> None:
        self.forget_digest(hash_api_key(token))

    def forget_digest(self, digest: str) -> None:
        """Drop a key by its stored hash (a revocation announced by another process)."""
        self._entries.pop(digest, None)

    @property
    def size(self) -> int:
        """Tokens cached, known or not."""
        return len(self._entries)

    def _prune(self, now: float) -> None:
        """Drop expired entries; if that is not enough, the oldest unknown tokens too
        (known keys are bounded by the database and stay)."""
        for digest, entry in list(self._entries.items()):
            ttl = self._ttl if entry.context is not None else self._negative_ttl
            if now - entry.fetched_at > ttl:
                del self._entries[digest]
        excess = len(self._entries) - self._max_entries * 9 // 10
        if excess > 0:
            unknown = [d for d, e in self._entries.items() if e.context is None]
            for digest in unknown[:excess]:
                del self._entries[digest]

    async def _load_once(self, digest: str) -> KeyContext | None:
        # Concurrent misses for one key share a single query.
        pending = self._loading.get(digest)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[KeyContext | None] = asyncio.get_running_loop().create_future()
        self._loading[digest] = future
        try:
            context = await self._query(digest)
            now = time.monotonic()
            self._entries[digest] = _Entry(context, now)
            if len(self._entries) > self._max_entries:
                self._prune(now)
            future.set_result(context)
            return context
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._loading[digest]

    async def _query(self, digest: str) -> KeyContext | None:
        statement = (
            select(ApiKey, Organization.default_rpm_limit, Organization.default_tpm_limit)
            .join(Organization, Organization.id == ApiKey.organization_id)
            .join(User, User.id == ApiKey.user_id)
            .where(
                ApiKey.key_hash == digest,
                ApiKey.revoked.is_(False),
                Organization.is_active.is_(True),
                User.is_active.is_(True),
            )
        )
        async with self._sessions() as session:
            row = (await session.execute(statement)).first()
            if row is None:
                return None
            key, org_rpm, org_tpm = row
            if key.monthly_spend_cap_nanos is not None and self._count_spend:
                await self._load_spend(session, key.id, key.organization_id)
            else:
                self._spend.pop(key.id, None)
                self._charges.pop(key.id, None)
        rpm = _first_set(key.rpm_limit, org_rpm, self._default_rpm)
        tpm = _first_set(key.tpm_limit, org_tpm, self._default_tpm)
        if key.test_mode:
            # Free requests get the test limits, or the key's own if tighter (never unlimited).
            rpm = _tighter(key.rpm_limit, self._test_rpm)
            tpm = _tighter(key.tpm_limit, self._test_tpm)
        return KeyContext(
            key_id=key.id,
            organization_id=key.organization_id,
            user_id=key.user_id,
            rpm_limit=rpm,
            tpm_limit=tpm,
            expires_at=key.expires_at,
            allowed_models=None if key.allowed_models is None else frozenset(key.allowed_models),
            monthly_spend_cap_nanos=key.monthly_spend_cap_nanos,
            test_mode=key.test_mode,
            key_prefix=key.key_prefix,
            inference=Scope.INFERENCE in scopes_of(key.scopes),
        )

    async def _load_spend(
        self, session: AsyncSession, key_id: uuid.UUID, organization_id: uuid.UUID
    ) -> None:
        charges = self._charges.get(key_id, [])
        settled = len(charges)
        running = [hold for hold in charges if hold.open]  # no usage row yet
        start = month_start(datetime.now(UTC))
        # The whole month, as the shared store reads it: a row is counted once it commits.
        spend = await cost_by_key(session, organization_id, start, next_month(start), key_id=key_id)
        self._spend[key_id] = spend.get(key_id, 0)
        self._charges[key_id] = running + charges[settled:]

    async def flush_last_used(self) -> None:
        if not self._touched:
            return
        touched, self._touched = self._touched, {}
        try:
            async with self._sessions() as session, session.begin():
                for key_id, used_at in touched.items():
                    await session.execute(
                        update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=used_at)
                    )
        except Exception:
            log.exception("could not record last_used_at; will retry")
            for key_id, used_at in touched.items():
                self._touched.setdefault(key_id, used_at)

    async def run_flusher(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.flush_last_used()


def _tighter(own: int | None, ceiling: int) -> int:
    return min(own, ceiling) if own else ceiling


def _first_set(*values: int | None) -> int:
    for value in values:
        if value is not None:
            return value
    return 0
