"""Requests with several generations (n > 1, or a list of prompts), served as one
single-generation upstream request each and answered as one response.

llama-server's usage of a combined request covers only one of its generations, so exact
billing needs each generation's own usage; and each generation occupies a slot of its own,
which admission control must see.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from typing import Any

import orjson

from gptapi.gateway.errors import invalid_request
from gptapi.gateway.openai.counting import reported_usage
from gptapi.gateway.openai.protocol import MAX_GENERATIONS
from gptapi.kit.sse import iter_data


def split_generations(
    payload: dict[str, Any], prompts: list[Any] | None, n: int
) -> list[tuple[dict[str, Any], bool]]:
    """One single-generation payload per choice (see `Plan.parts`); [] for a single one.

    `prompts`: the completions prompts, one part set each (None for chat). A given seed
    moves on by one per part, so the choices differ as they would in one request.
    """
    prompt_list = prompts if prompts is not None else [None]
    if n * len(prompt_list) > MAX_GENERATIONS:
        raise invalid_request(
            f"This request asks for {n * len(prompt_list)} generations ({len(prompt_list)} "
            f"prompts, n={n}); at most {MAX_GENERATIONS} are served per request. Send fewer "
            "prompts per request, or lower n.",
            param="prompt" if len(prompt_list) > 1 else "n",
            code="invalid_value",
        )
    if n * len(prompt_list) == 1:
        return []
    parts: list[tuple[dict[str, Any], bool]] = []
    seed = payload.get("seed")
    for prompt in prompt_list:
        for index in range(n):
            part = {**payload, "n": 1}
            if prompt is not None:
                part["prompt"] = prompt
            if isinstance(seed, int):
                part["seed"] = seed + len(parts)
            parts.append((part, index == 0))
    return parts


def combine_parts(
    parts: list[tuple[dict[str, Any], bool]], answers: list[dict[str, Any]]
) -> tuple[dict[str, Any], tuple[int, int] | None]:
    """One response from the parts' answers, choices renumbered in order, and its usage:
    each prompt once, every generation's completion (None if a part reported none)."""
    combined = dict(answers[0])
    combined["choices"] = [
        {**choice, "index": index}
        for index, choice in enumerate(c for answer in answers for c in answer["choices"])
    ]
    usage = combined_usage(parts, [answer.get("usage") for answer in answers])
    if usage is None:
        combined.pop("usage", None)
        return combined, None
    combined["usage"] = usage
    return combined, (usage["prompt_tokens"], usage["completion_tokens"])


def combined_usage(
    parts: list[tuple[dict[str, Any], bool]], usages: list[Any]
) -> dict[str, int] | None:
    """The usage of all the parts: each prompt once, every generation's completion; None if
    a part reported none (the whole request is then counted)."""
    prompt = completion = 0
    for (_, bills_prompt), reported in zip(parts, usages, strict=True):
        usage = reported_usage(reported)
        if usage is None:
            return None
        prompt += usage[0] if bills_prompt else 0
        completion += usage[1]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def merged_data(
    contents: Sequence[AsyncIterable[bytes]], failed: list[int]
) -> AsyncGenerator[tuple[int, bytes], None]:
    """Each part's server-sent `data` as it arrives, with the part's position. A part's
    failure ends the merge with its exception, its position put in `failed`."""
    if len(contents) == 1:  # the usual request: no task, no queue
        try:
            async for data in iter_data(contents[0]):
                yield 0, data
        except Exception:
            failed.append(0)
            raise
        return
    queue: asyncio.Queue[tuple[int, bytes | Exception | None]] = asyncio.Queue()

    async def pump(part: int, content: AsyncIterable[bytes]) -> None:
        try:
            async for data in iter_data(content):
                await queue.put((part, data))
        except Exception as exc:
            await queue.put((part, exc))
        else:
            await queue.put((part, None))

    pumps = [asyncio.create_task(pump(i, content)) for i, content in enumerate(contents)]
    try:
        running = len(pumps)
        while running:
            part, item = await queue.get()
            if item is None:
                running -= 1
            elif isinstance(item, Exception):
                failed.append(part)
                raise item
            else:
                yield part, item
    finally:
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)


def part_usage(raw: bytes, bills_prompt: bool) -> tuple[int, int]:
    """What one part that ran to completion costs on its own (its prompt only if it is
    the one that bills it), from its upstream answer; (0, 0) if that reports no usage."""
    try:
        answer = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return 0, 0
    usage = reported_usage(answer.get("usage")) if isinstance(answer, dict) else None
    if usage is None:
        return 0, 0
    return (usage[0] if bills_prompt else 0), usage[1]
