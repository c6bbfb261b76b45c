"""A bounded fuzz of the /v1 surfaces over the real llama.cpp servers: malformed, huge and
deeply nested bodies, wrong types and unknown fields on every surface. Whatever comes in,
the answer is never a 5xx, and a refused request leaves the organisation's available
credit (balance minus holds) exactly as it was.

Seeded, so a failure replays; about two hundred requests per backend, almost all refused
before anything runs upstream.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from gptapi.inference.launcher import LocalFleet
from tests.gateway.admission import (
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    HELLO,
    assert_books_balance,
    available_credit,
    custom_platform,
    http,
)
from tests.support.platform import Platform

LIMIT = 32 * 1024  # max_request_body_bytes of this module's gateway
SEED = 20261203

BASES: dict[str, dict[str, Any]] = {
    CHAT: {"model": "gpt-fast", "messages": HELLO, "max_tokens": 1},
    COMPLETIONS: {"model": "gpt-fast", "prompt": "Hi", "max_tokens": 1},
    EMBEDDINGS: {"model": "embed", "input": "hi"},
}
# Fields each surface knows, besides those of its base body: wrong types are tried on all.
KNOWN: dict[str, list[str]] = {
    CHAT: [
        "stream",
        "stream_options",
        "n",
        "temperature",
        "top_p",
        "stop",
        "seed",
        "tools",
        "tool_choice",
        "response_format",
        "logprobs",
        "top_logprobs",
        "max_completion_tokens",
        "presence_penalty",
        "user",
    ],
    COMPLETIONS: ["stream", "n", "echo", "logprobs", "suffix", "stop", "temperature", "seed"],
    EMBEDDINGS: ["encoding_format", "user"],
}
UNKNOWN = ["n_predict", "ignore_eos", "n_probs", "n_cmpl", "id_slot", "lora", "x", "", "ü", "$"]


def wrong_values(rng: random.Random) -> list[Any]:
    """Values of every JSON type, plus edges: none of them a valid `max_tokens` of 1."""
    return [
        "",
        "x" * rng.randint(1, 64),
        -1,
        0,
        2**63,
        2**70,
        -(2**70),
        1.5,
        -0.0,
        1e308,
        True,
        False,
        [],
        [None],
        {},
        {"type": None},
        [[[]]],
        "\u0000",
        "\ud7ff\ue000",
    ]


def nested(depth: int, rng: random.Random) -> str:
    opens = "".join(rng.choice("[{") for _ in range(depth))
    body = "1"
    for bracket in reversed(opens):
        body = f"[{body}]" if bracket == "[" else f'{{"k":{body}}}'
    return body


def cases(rng: random.Random) -> Iterator[tuple[str, str, bytes]]:
    """(surface, what, raw body)"""
    for path, base in BASES.items():
        valid = json.dumps(base).encode()
        # malformed
        for cut in sorted(rng.sample(range(1, len(valid)), 6)):
            yield path, f"truncated at {cut}", valid[:cut]
        yield path, "random bytes", rng.randbytes(200)
        yield path, "invalid utf-8", valid[:-1] + b',"user":"\xff\xfe"}'
        yield path, "not an object", b"[" + valid + b"]"
        yield path, "duplicate keys", valid[:-1] + b', "model": 5}'
        # huge
        yield path, "over the limit", valid[:-1] + b', "user": "' + b"x" * LIMIT + b'"}'
        yield path, "huge number", valid[:-1] + b', "seed": 1' + b"0" * 5000 + b"}"
        yield path, "huge string value", json.dumps({**base, "user": "x" * (LIMIT // 2)}).encode()
        # deep
        for depth in (65, 256, 300, 1100):
            for field in rng.sample([*KNOWN[path], "messages", "input", "prompt", "x"], 2):
                raw = valid[:-1] + f', "{field}": {nested(depth, rng)}}}'.encode()
                yield path, f"{field} nested {depth}", raw
        # wrong types, on every field
        for field in [*base, *KNOWN[path]]:
            for value in rng.sample(wrong_values(rng), 4):
                body = {**base, field: value}
                yield path, f"{field}={value!r:.40}", json.dumps(body).encode()
        # unknown fields
        for field in UNKNOWN:
            yield path, f"unknown {field!r}", json.dumps({**base, field: 1}).encode()
        # missing fields (not max_tokens: that is valid, and a long generation)
        for field in [f for f in base if f != "max_tokens"]:
            body = {k: v for k, v in base.items() if k != field}
            yield path, f"without {field}", json.dumps(body).encode()


@pytest.fixture(scope="module")
def gateway(
    backend: str, llama_fleet: LocalFleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    with custom_platform(
        backend, llama_fleet, tmp_path_factory, max_request_body_bytes=LIMIT
    ) as platform:
        yield platform


def test_fuzzed_requests_never_5xx_and_refusals_hold_nothing(gateway: Platform) -> None:
    account = gateway.account("1")
    served = 0
    with http(gateway, account) as client:
        for path, what, raw in cases(random.Random(SEED)):
            before = available_credit(gateway, account)
            response = client.post(path, content=raw, headers={"content-type": "application/json"})
            assert response.status_code < 500, (path, what, response.text[:300])
            if response.status_code >= 400:
                assert response.json()["error"]["message"], (path, what)
                assert available_credit(gateway, account) == before, (path, what)
            else:
                served += 1
    # Some wrong-looking values are valid (a seed of 0, an empty user): they were served and
    # billed. Others only llama.cpp refuses, after admission: recorded, at no cost.
    usage = gateway.usage(account)
    assert len([r for r in usage if r.status == 200]) == served
    assert all(r.cost_nanos == 0 for r in usage if r.status != 200)
    assert_books_balance(gateway, account, 1_000_000_000)
