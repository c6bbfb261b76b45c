"""Gateway state shared by every process and replica through Redis (`REDIS_URL`).

- Rate limits: the token buckets of `limits` as one Lua script, so a check is one round trip
  and atomic across processes. When Redis cannot be reached, each process falls back to its
  own in-memory buckets (a process's local share of the limit) and logs it; Redis is used
  again as soon as it answers.
- Credit holds and key spend caps: `gptapi.gateway.shared_credit`.
- Announcements (`gptapi.gateway.announcements`): a revoked key's hash, or word of a catalog
  change, published on a channel every gateway process listens to.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gptapi.gateway.limits import (
    InMemoryRateLimiter,
    RateDecision,
    _Bucket,
    _denied,
    _headers,
)

log = logging.getLogger(__name__)

# Answers slower than this count as Redis being down: a request must not hang on it.
SOCKET_TIMEOUT_SECONDS = 1.0


# Connections one process opens to Redis. A burst beyond them waits for one to come back,
# where redis-py's default pool would refuse the request at once; the wait is longer than
# the socket timeout, as it measures this process's own congestion, not Redis being down.
MAX_CONNECTIONS = 100
POOL_WAIT_SECONDS = 5.0


def connect(url: str) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_SECONDS,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
    )
    return aioredis.Redis.from_pool(pool)


# ------------------------------------------------------------------ rate limits

# KEYS: requests bucket, tokens bucket. ARGV: rpm, tpm, tokens (0 limit: no bucket).
# A bucket is a hash {level, at} (seconds, Redis' clock); a missing bucket is full.
# Returns {allowed, exceeded (0 none, 1 requests, 2 tokens), requests level, tokens level}.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function level(key, cap)
  local b = redis.call('HMGET', key, 'level', 'at')
  if not b[1] then return cap end
  return math.min(cap, tonumber(b[1]) + (now - tonumber(b[2])) * cap / 60)
end
local rpm, tpm, tokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local r = rpm > 0 and level(KEYS[1], rpm) or 0
local k = tpm > 0 and level(KEYS[2], tpm) or 0
local exceeded = 0
if rpm > 0 and r < 1 then exceeded = 1 elseif tpm > 0 and k < tokens then exceeded = 2 end
if exceeded == 0 then
  if rpm > 0 then r = r - 1 end
  if tpm > 0 then k = k - tokens end
end
if rpm > 0 then
  redis.call('HSET', KEYS[1], 'level', tostring(r), 'at', tostring(now))
  redis.call('EXPIRE', KEYS[1], 61)
end
if tpm > 0 then
  redis.call('HSET', KEYS[2], 'level', tostring(k), 'at', tostring(now))
  redis.call('EXPIRE', KEYS[2], 61)
end
return {exceeded == 0 and 1 or 0, exceeded, tostring(r), tostring(k)}
"""

# KEYS: tokens bucket. ARGV: tpm, tokens to give back.
_REFUND = """
local b = redis.call('HMGET', KEYS[1], 'level', 'at')
if not b[1] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cap = tonumber(ARGV[1])
local level = math.min(cap, tonumber(b[1]) + (now - tonumber(b[2])) * cap / 60)
level = math.min(cap, level + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now))
return 1
"""


class RedisRateLimiter:
    """`RateLimiter` on Redis: one script call per check, one per refund."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._prefix = prefix
        self._acquire = client.register_script(_ACQUIRE)
        self._refund = client.register_script(_REFUND)
        self._local = InMemoryRateLimiter()
        self._warned_at = 0.0

    def _keys(self, key: str) -> list[str]:
        # One hash tag per API key: both buckets live in one Redis Cluster slot.
        return [f"{self._prefix}rl:{{{key}}}:r", f"{self._prefix}rl:{{{key}}}:t"]

    async def acquire(self, key: str, rpm: int, tpm: int, tokens: int) -> RateDecision:
        if not rpm and not tpm:
            return RateDecision(allowed=True)
        try:
            reply = await self._acquire(keys=self._keys(key), args=[rpm, tpm, tokens])
        except RedisError as exc:
            self._degraded(exc)
            return await self._local.acquire(key, rpm, tpm, tokens)
        allowed, exceeded, r_level, t_level = reply
        requests = _Bucket(float(r_level), 0.0) if rpm else None
        budget = _Bucket(float(t_level), 0.0) if tpm else None
        if allowed:
            decision = RateDecision(allowed=True)
        elif exceeded == 1:
            decision = _denied("requests", rpm, cast(_Bucket, requests), 1)
        else:
            decision = _denied("tokens", tpm, cast(_Bucket, budget), tokens)
        decision.headers = _headers(rpm, requests, tpm, budget)
        return decision

    async def refund(self, key: str, tpm: int, tokens: int) -> None:
        if not tpm or tokens <= 0:
            return
        try:
            await self._refund(keys=self._keys(key)[1:], args=[tpm, tokens])
        except RedisError as exc:
            self._degraded(exc)
            await self._local.refund(key, tpm, tokens)

    def _degraded(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at > 10:
            self._warned_at = now
            log.warning("Redis unreachable (%s): rate limits are per process until it is back", exc)


# ------------------------------------------------------------------ announcements


async def announce(
    client: aioredis.Redis, prefix: str, channel: str, messages: Iterable[str]
) -> None:
    """Publish to every gateway process listening on `channel`."""
    for message in messages:
        await client.publish(prefix + channel, message)


async def announce_once(url: str, prefix: str, channel: str, messages: Iterable[str]) -> None:
    """`announce` from a process with no client of its own (the admin CLI)."""
    client = connect(url)
    try:
        await announce(client, prefix, channel, messages)
    finally:
        await client.aclose()


async def listen(
    client: aioredis.Redis, prefix: str, handlers: Mapping[str, Callable[[str], None]]
) -> None:
    """Hand each message of each channel to its handler; resubscribes by itself (what was
    announced while the channel was down is caught up by the caches' TTL and the catalog's
    periodic refresh)."""
    channels = {prefix + channel: handler for channel, handler in handlers.items()}
    while True:
        try:
            async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(*channels)
                while True:
                    message = await pubsub.get_message(timeout=SOCKET_TIMEOUT_SECONDS / 2)
                    if message is None:
                        continue
                    channel, data = message.get("channel"), message.get("data")
                    if isinstance(channel, bytes) and isinstance(data, bytes):
                        channels[channel.decode()](data.decode())
        except RedisError as exc:
            log.warning("announcement channels lost (%s); resubscribing", exc)
            await asyncio.sleep(1.0)
