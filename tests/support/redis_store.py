"""The local Redis (TEST_REDIS_URL) under a key prefix of each test's own, emptied after."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis.asyncio as aioredis

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def _delete_prefix(prefix: str) -> None:
    client = aioredis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@contextmanager
def redis_prefix() -> Iterator[str]:
    """A prefix no other test uses; every key under it is deleted afterwards."""
    prefix = f"gptapi-test-{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        asyncio.run(_delete_prefix(prefix))
