"""Requests with several generations (n > 1, or a list of prompts), served as one
single-generation upstream request each and answered as one response.

llama-server's usage of a combined request covers only one of its generations, so exact
billing needs each generation's own usage; and each generation occupies a slot of its own,
which admission control must see.
"""

from __future__ import annotations

from typing import Any

from gptapi.gateway.errors import invalid_request
from gptapi.gateway.openai.counting import reported_usage


def split_generations(
    payload: dict[str, Any], prompts: list[Any] | None, n: int, *, stream: bool
) -> list[tuple[dict[str, Any], bool]]:
    """One single-generation payload per choice (see `Plan.parts`); [] for a single one.

    `prompts`: the completions prompts, one part set each (None for chat). A given seed
    moves on by one per part, so the choices differ as they would in one request.
    """
    prompt_list = prompts if prompts is not None else [None]
    if n * len(prompt_list) == 1:
        return []
    if stream:
        raise invalid_request(
            "Streaming supports one generation per request: set n to 1 and send one prompt, "
            "or turn streaming off.",
            param="n" if n > 1 else "prompt",
            code="unsupported_value",
        )
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
    prompt = completion = 0
    for (_, bills_prompt), answer in zip(parts, answers, strict=True):
        usage = reported_usage(answer.get("usage"))
        if usage is None:
            combined.pop("usage", None)
            return combined, None
        prompt += usage[0] if bills_prompt else 0
        completion += usage[1]
    combined["usage"] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    return combined, (prompt, completion)
