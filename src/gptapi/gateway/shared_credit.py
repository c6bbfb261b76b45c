"""Credit holds and key spend caps on Redis, shared by every gateway process and replica.

Per organisation, one available figure: the database balance (loaded once, re-read while
nothing is in flight) minus every open hold and every settled charge whose usage row is not
committed yet. Reserve, settle, release and commit are Lua scripts, so two processes can
never both take the last credit. Every hold and every uncommitted charge expires
(`credit_hold_ttl_seconds`), so a process that dies does not lock credit forever. When Redis
cannot be reached, holds fail closed: the request is refused with a retryable 503, never
served on credit. The database stays the system of record: the usage writer charges the
ledger exactly as without Redis.

A key with a monthly spend cap is counted in the same scripts, under its organisation's
hash tag: its month-to-date spend (read from the database when Redis has none for this
month) plus its holds and uncommitted charges. A request is admitted while that total is
below the cap, checked and counted in the same step as the credit hold, so the cap holds
across every process as exactly as the balance does.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from gptapi.gateway.credits import (
    Charge,
    CreditStoreUnavailable,
    Hold,
    InsufficientCredit,
    SpendCap,
    SpendCapReached,
)
from gptapi.kit.clock import month_label, month_start, next_month
from gptapi.kit.db import SessionMaker
from gptapi.models import Organization
from gptapi.usage_sums import cost_by_key

log = logging.getLogger(__name__)

# Loads a reserve may need (balance, then the key's spend) before it gives up for now.
RESERVE_ATTEMPTS = 3

# Per organisation: hash `acct` {balance, open, pending, epoch, and per capped key
# s:<key> month-to-date spend, m:<key> its month, o:<key> its holds and uncommitted charges,
# e:<key> bumped on each of its commits}, hash `amt` (entry id -> amount: positive for an
# open hold, negative for a settled charge not committed yet), sorted set `exp` (entry id ->
# expiry, ms) and hash `own` (entry id -> "<key>:<month>" for a capped key's entries).
# available = balance - open. (Lua numbers are doubles, exact to 2^53 nano-dollars;
# negations are written `0 - x`, as `-0` is not an integer to Redis.)
_CREDIT_LIB = """
local acct, amt, exp, own = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function drop(id)
  local a = redis.call('HGET', amt, id)
  if not a then return '' end
  a = tonumber(a)
  local size = a
  if a < 0 then
    size = 0 - a
    redis.call('HINCRBY', acct, 'pending', -1)
  end
  redis.call('HINCRBY', acct, 'open', 0 - size)
  local owner = redis.call('HGET', own, id)
  if owner then
    redis.call('HINCRBY', acct, 'o:' .. string.match(owner, '^[^:]*'), 0 - size)
    redis.call('HDEL', own, id)
  end
  redis.call('HDEL', amt, id)
  redis.call('ZREM', exp, id)
  return owner or ''
end
local function purge()
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', exp, '-inf', now, 'LIMIT', 0, 200)) do
    drop(id)
  end
end
local function add(id, amount, ttl, owner)
  redis.call('HSET', amt, id, amount)
  redis.call('ZADD', exp, now + ttl, id)
  if owner ~= '' then
    redis.call('HSET', own, id, owner)
    local size = amount < 0 and 0 - amount or amount
    redis.call('HINCRBY', acct, 'o:' .. string.match(owner, '^[^:]*'), size)
  end
  for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, 2 * ttl) end
end
"""

# ARGV: entry id, amount, ttl ms, capped key ('' none), its cap, the month.
# {-1, 0}: no balance loaded; {-2, 0}: the key's spend this month not loaded;
# {2, 0}: the key's cap is reached; {0, available}: not enough credit; {1, available}.
_RESERVE = (
    _CREDIT_LIB
    + """
local balance = redis.call('HGET', acct, 'balance')
if not balance then return {-1, 0} end
purge()
local key, owner = ARGV[4], ''
if key ~= '' then
  local k = redis.call('HMGET', acct, 's:' .. key, 'm:' .. key, 'o:' .. key)
  if not k[1] or k[2] ~= ARGV[6] then return {-2, 0} end
  if tonumber(k[1]) + tonumber(k[3] or '0') >= tonumber(ARGV[5]) then return {2, 0} end
  owner = key .. ':' .. ARGV[6]
end
local available = tonumber(balance) - tonumber(redis.call('HGET', acct, 'open') or '0')
local amount = tonumber(ARGV[2])
if available < amount then return {0, available} end
add(ARGV[1], amount, tonumber(ARGV[3]), owner)
redis.call('HINCRBY', acct, 'open', amount)
return {1, available - amount}
"""
)

# ARGV: entry id, cost, ttl ms. The hold becomes the cost, until the usage row commits.
_SETTLE = (
    _CREDIT_LIB
    + """
local owner = drop(ARGV[1])
local cost = tonumber(ARGV[2])
if cost > 0 and redis.call('HEXISTS', acct, 'balance') == 1 then
  add(ARGV[1], 0 - cost, tonumber(ARGV[3]), owner)
  redis.call('HINCRBY', acct, 'open', cost)
  redis.call('HINCRBY', acct, 'pending', 1)
  redis.call('HINCRBY', acct, 'epoch', 1)
end
return 1
"""
)

# ARGV: entry id.
_RELEASE = _CREDIT_LIB + "drop(ARGV[1])\nreturn 1\n"

# ARGV: cost committed to the database, then per usage row committed: the entry id it
# settled, its key, its cost and its month. A capped key's month-to-date spend grows by the
# committed cost itself, so it counts even when the settle never reached Redis (a timeout
# on a starved machine) or the entry expired first; `e:` is bumped so a spend load that
# read the database before this commit is discarded.
_COMMIT = (
    _CREDIT_LIB
    + """
for i = 2, #ARGV, 4 do
  local key, month = ARGV[i + 1], ARGV[i + 3]
  local owner = drop(ARGV[i])
  local loaded = redis.call('HGET', acct, 'm:' .. key)
  if owner ~= '' or loaded then
    redis.call('HINCRBY', acct, 'e:' .. key, 1)
  end
  if loaded == month then
    redis.call('HINCRBY', acct, 's:' .. key, ARGV[i + 2])
  end
end
if redis.call('HEXISTS', acct, 'balance') == 0 then return 0 end
redis.call('HINCRBY', acct, 'balance', 0 - tonumber(ARGV[1]))
redis.call('HINCRBY', acct, 'epoch', 1)
return 1
"""
)

# ARGV: database balance, epoch seen before it was read. Applied only when nothing was
# settled or committed since (the read might otherwise miss, or count twice, a charge).
_LOAD = """
local acct = KEYS[1]
local b = redis.call('HMGET', acct, 'balance', 'epoch', 'pending')
if b[1] and ((b[2] or '0') ~= ARGV[2] or tonumber(b[3] or '0') > 0) then return 0 end
if not b[1] and (b[2] or '0') ~= ARGV[2] then return 0 end
redis.call('HSET', acct, 'balance', ARGV[1])
return 1
"""

# ARGV: key, its spend this month in the database, the month, its epoch seen before the
# read. Applied only when none of its charges committed meanwhile.
_LOAD_SPEND = """
local acct, key = KEYS[1], ARGV[1]
if (redis.call('HGET', acct, 'e:' .. key) or '0') ~= ARGV[4] then return 0 end
redis.call('HSET', acct, 's:' .. key, ARGV[2], 'm:' .. key, ARGV[3])
return 1
"""


class RedisCreditAccounts:
    """`CreditStore` on Redis: every process reserves against one available figure, and
    counts capped keys' spend in one place."""

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        sessions: SessionMaker,
        *,
        refresh_seconds: float,
        hold_ttl_seconds: float,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._sessions = sessions
        self._refresh = refresh_seconds
        self._ttl_ms = int(hold_ttl_seconds * 1000)
        self._reserve = client.register_script(_RESERVE)
        self._settle = client.register_script(_SETTLE)
        self._release = client.register_script(_RELEASE)
        self._commit = client.register_script(_COMMIT)
        self._load_script = client.register_script(_LOAD)
        self._load_spend_script = client.register_script(_LOAD_SPEND)
        self._fetched: dict[uuid.UUID, float] = {}
        self._held: dict[uuid.UUID, int] = defaultdict(int)

    def _keys(self, organization_id: uuid.UUID) -> list[str]:
        base = f"{self._prefix}credit:{{{organization_id.hex}}}"
        return [base, base + ":amt", base + ":exp", base + ":own"]

    async def reserve(
        self, organization_id: uuid.UUID, amount: int, cap: SpendCap | None = None
    ) -> Hold:
        keys = self._keys(organization_id)
        hold = Hold(organization_id, amount, id=uuid.uuid4().hex)
        now = datetime.now(UTC)
        month = month_label(now)
        capped: list[str | int] = (
            [cap.key_id.hex, cap.cap_nanos, month] if cap is not None else ["", 0, ""]
        )
        granted, available = -1, 0
        try:
            if time.monotonic() - self._fetched.get(organization_id, -1e9) > self._refresh:
                await self._load(organization_id, keys)
            for _ in range(RESERVE_ATTEMPTS):
                granted, available = await self._reserve(
                    keys=keys, args=[hold.id, amount, self._ttl_ms, *capped]
                )
                if granted == -1:  # expired or lost (Redis restarted): load it
                    await self._load(organization_id, keys)
                elif granted == -2 and cap is not None:  # a new month, or lost
                    await self._load_spend(organization_id, cap, now, keys)
                else:
                    break
        except RedisError as exc:
            log.warning("Redis unreachable (%s): refusing a credit hold", exc)
            raise CreditStoreUnavailable from exc
        if granted == 2:
            raise SpendCapReached
        if granted < 0:  # the database did not answer, or kept moving under the loads
            raise CreditStoreUnavailable
        if granted != 1:
            raise InsufficientCredit(max(0, int(available)), amount)
        self._held[organization_id] += amount
        return hold

    async def settle(self, hold: Hold, cost: int) -> None:
        if not hold.open:
            raise RuntimeError("hold already settled")
        hold.open = False
        self._held[hold.organization_id] -= hold.amount
        await self._call(self._settle, hold.organization_id, [hold.id, cost, self._ttl_ms])

    async def release(self, hold: Hold) -> None:
        if hold.open:
            hold.open = False
            self._held[hold.organization_id] -= hold.amount
            await self._call(self._release, hold.organization_id, [hold.id])

    async def committed(
        self, organization_id: uuid.UUID, cost: int, balance: int, charges: Iterable[Charge] = ()
    ) -> None:
        rows = [(c.hold_id, c.key_id.hex, c.cost, c.month) for c in charges]
        await self._call(self._commit, organization_id, [cost, *itertools.chain(*rows)])

    def held(self, organization_id: uuid.UUID) -> int:
        """Open holds of this organisation in this process (requests still running)."""
        return self._held.get(organization_id, 0)

    async def _call(self, script: Any, organization_id: uuid.UUID, args: list[Any]) -> None:
        # After the hold: a failure here leaves an entry that expires by itself (the ledger
        # is charged by the usage writer whatever Redis says).
        try:
            await script(keys=self._keys(organization_id), args=args)
        except RedisError as exc:
            log.warning("Redis unreachable (%s): credit entry left to expire", exc)

    async def _load(self, organization_id: uuid.UUID, keys: list[str]) -> None:
        """Read the balance from the database into Redis, unless a charge moved meanwhile.
        While the database does not answer, a balance Redis has stays in use; without one,
        the reserve finds none and is refused as retryable."""
        epoch, pending, loaded = await self._client.hmget(keys[0], ["epoch", "pending", "balance"])
        self._fetched[organization_id] = time.monotonic()
        if loaded is not None and int(pending or 0) > 0:
            return  # charges in flight: the figure in Redis is the one to trust for now
        try:
            async with self._sessions() as session:
                balance = await session.scalar(
                    select(Organization.balance_nanos).where(Organization.id == organization_id)
                )
        except (SQLAlchemyError, OSError) as exc:
            log.warning("database unreachable (%s): balance not refreshed", exc)
            return
        await self._load_script(keys=keys[:1], args=[balance or 0, int(epoch or 0)])

    async def _load_spend(
        self, organization_id: uuid.UUID, cap: SpendCap, now: datetime, keys: list[str]
    ) -> None:
        """Read the key's spend this month from the database into Redis."""
        key = cap.key_id.hex
        epoch = await self._client.hget(keys[0], f"e:{key}")
        # The whole month, not up to `now`: a row committed (and counted in `epoch`) after
        # this request arrived but before `epoch` was read must be in the figure too.
        start = month_start(now)
        try:
            async with self._sessions() as session:
                spend = await cost_by_key(
                    session, organization_id, start, next_month(start), key_id=cap.key_id
                )
        except (SQLAlchemyError, OSError) as exc:
            log.warning("database unreachable (%s): key spend not loaded", exc)
            return
        await self._load_spend_script(
            keys=keys[:1],
            args=[key, spend.get(cap.key_id, 0), month_label(now), int(epoch or 0)],
        )
