"""Streaming through the gateway vs straight to llama.cpp: time to first token and decode
rate, measured by a small aiohttp client (the model, not the client, is the bottleneck)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
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
    server_cpu_us_per_token: float | None = None  # CPU time the server process used, per token


async def stream_once(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], headers: dict[str, str]
) -> StreamSample:
    payload = orjson.dumps(body)
    started = time.perf_counter()
    first: float | None = None
    last = started
    chunks = 0
    usage: dict[str, Any] | None = None
    finished: float | None = None
    async with session.post(url, data=payload, headers=headers) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}: {await response.text()}")
        async for line in response.content:
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                finished = time.perf_counter()
                continue  # read on to the end of the body, as a well-behaved client does
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
    if first is None or finished is None:
        raise RuntimeError(f"{url} streamed no content or no [DONE]")
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
    targets: dict[str, tuple[str, dict[str, str], Callable[[], float] | None]],
    body: dict[str, Any],
    *,
    runs: int,
    warmup: int = 1,
    progress: Any = None,
) -> dict[str, list[StreamSample]]:
    """`runs` samples per target, interleaved (A B, B A, A B …) after `warmup` each. A
    target's optional third element reads its server's CPU seconds, sampled around each run."""
    results: dict[str, list[StreamSample]] = {name: [] for name in targets}
    timeout = aiohttp.ClientTimeout(total=300)
    # A fresh connection per stream, for both targets: llama.cpp's server may close an idle
    # keep-alive connection just as a pooled client reuses it.
    connector = aiohttp.TCPConnector(limit=4, force_close=True)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        names = list(targets)
        for _ in range(warmup):
            for name in names:
                url, headers, _ = targets[name]
                await stream_once(session, url, body, headers)
        for index in range(runs):
            order = names if index % 2 == 0 else names[::-1]
            for name in order:
                url, headers, cpu = targets[name]
                before = cpu() if cpu is not None else 0.0
                try:
                    sample = await stream_once(session, url, body, headers)
                except aiohttp.ClientError as exc:  # one retry for a transient network error
                    if progress is not None:
                        progress(f"stream {index + 1}/{runs} {name}: {exc!r}; retrying once")
                    before = cpu() if cpu is not None else 0.0
                    sample = await stream_once(session, url, body, headers)
                if cpu is not None:
                    used = (cpu() - before) * 1e6 / max(1, sample.tokens)
                    sample = dataclasses.replace(sample, server_cpu_us_per_token=used)
                results[name].append(sample)
                if progress is not None:
                    cpu_note = (
                        f", server cpu {sample.server_cpu_us_per_token:.0f} us/token"
                        if sample.server_cpu_us_per_token is not None
                        else ""
                    )
                    progress(
                        f"stream {index + 1}/{runs} {name:<8} ttft {sample.ttft_ms:7.1f} ms  "
                        f"{sample.decode_tps:6.1f} tok/s  ({sample.tokens} tokens{cpu_note})"
                    )
    return results
