"""Streaming through the gateway vs straight to llama.cpp: time to first token and decode
rate, measured by a small aiohttp client (the model, not the client, is the bottleneck)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson


@dataclass(frozen=True, slots=True)
class StreamSample:
    ttft_ms: float  # request sent → first chunk carrying content
    tokens: int  # completion tokens (from usage; chunks with content if absent)
    decode_tps: float  # (tokens - 1) / (last content chunk - first content chunk)
    total_s: float  # request sent → [DONE]
    end_to_end_tps: float  # tokens / total_s


async def stream_once(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], headers: dict[str, str]
) -> StreamSample:
    payload = orjson.dumps(body)
    started = time.perf_counter()
    first: float | None = None
    last = started
    chunks = 0
    usage: dict[str, Any] | None = None
    async with session.post(url, data=payload, headers=headers) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}: {await response.text()}")
        async for line in response.content:
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                break
            obj = orjson.loads(data)
            if "error" in obj:
                raise RuntimeError(f"{url} stream error: {obj['error']}")
            if obj.get("usage"):
                usage = obj["usage"]
            for choice in obj.get("choices") or ():
                if (choice.get("delta") or {}).get("content"):
                    now = time.perf_counter()
                    if first is None:
                        first = now
                    last = now
                    chunks += 1
    finished = time.perf_counter()
    if first is None:
        raise RuntimeError(f"{url} streamed no content")
    tokens = int(usage["completion_tokens"]) if usage else chunks
    span = last - first
    return StreamSample(
        ttft_ms=(first - started) * 1000,
        tokens=tokens,
        decode_tps=(tokens - 1) / span if span > 0 else 0.0,
        total_s=finished - started,
        end_to_end_tps=tokens / (finished - started),
    )


async def compare(
    targets: dict[str, tuple[str, dict[str, str]]],
    body: dict[str, Any],
    *,
    runs: int,
    warmup: int = 1,
    progress: Any = None,
) -> dict[str, list[StreamSample]]:
    """`runs` samples per target, interleaved (A B, B A, A B …) after `warmup` each."""
    results: dict[str, list[StreamSample]] = {name: [] for name in targets}
    timeout = aiohttp.ClientTimeout(total=300)
    connector = aiohttp.TCPConnector(limit=4)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        names = list(targets)
        for _ in range(warmup):
            for name in names:
                url, headers = targets[name]
                await stream_once(session, url, body, headers)
        for index in range(runs):
            order = names if index % 2 == 0 else names[::-1]
            for name in order:
                url, headers = targets[name]
                sample = await stream_once(session, url, body, headers)
                results[name].append(sample)
                if progress is not None:
                    progress(
                        f"stream {index + 1}/{runs} {name:<8} ttft {sample.ttft_ms:7.1f} ms  "
                        f"{sample.decode_tps:6.1f} tok/s  ({sample.tokens} tokens)"
                    )
    return results
