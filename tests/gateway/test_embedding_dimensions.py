"""Embeddings `dimensions` through the official SDK against real llama.cpp: vectors cut to
the size asked and normalised again, or a 400 naming the field."""

from __future__ import annotations

import base64
import math
import struct

import openai
import pytest

from tests.gateway.test_openai_sdk import client
from tests.support.platform import Platform

NATIVE = 576  # SmolLM2-135M's embedding size


@pytest.mark.parametrize("encoding_format", ["float", "base64"])
def test_dimensions_shorten_and_renormalise(platform: Platform, encoding_format: str) -> None:
    account = platform.account("1")
    sdk = client(platform, account)
    full = sdk.embeddings.create(model="embed", input=["a cat", "a dog"])
    raw = sdk.embeddings.with_raw_response.create(
        model="embed",
        input=["a cat", "a dog"],
        dimensions=64,
        encoding_format=encoding_format,  # type: ignore[arg-type]
    ).http_response.json()
    for whole, short in zip(full.data, raw["data"], strict=True):
        assert len(whole.embedding) == NATIVE
        encoded = short["embedding"]
        if encoding_format == "base64":
            assert isinstance(encoded, str)
            vector = list(struct.unpack("<64f", base64.b64decode(encoded)))
        else:
            vector = encoded
        assert len(vector) == 64
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-5)
        prefix = whole.embedding[:64]
        scale = math.sqrt(sum(x * x for x in prefix))
        assert all(
            math.isclose(x, y / scale, rel_tol=1e-4, abs_tol=1e-6)
            for x, y in zip(vector, prefix, strict=True)
        )
    # The SDK's own default (base64, decoded by the SDK) sees the short vectors too.
    decoded = sdk.embeddings.create(model="embed", input="a cat", dimensions=NATIVE)
    assert len(decoded.data[0].embedding) == NATIVE
    # Billed like any embedding: the records match the ledger.
    records = platform.usage(account)
    assert len(records) == 3 and all(r.cost_nanos > 0 for r in records)
    assert platform.balance(account) == 1_000_000_000 - sum(r.cost_nanos for r in records)


@pytest.mark.parametrize(("dimensions", "code"), [(NATIVE + 1, "invalid_value"), (0, None)])
def test_impossible_dimensions_are_400s_and_free(
    platform: Platform, dimensions: int, code: str | None
) -> None:
    account = platform.account("1")
    with pytest.raises(openai.BadRequestError) as raised:
        client(platform, account, max_retries=0).embeddings.create(
            model="embed", input="a cat", dimensions=dimensions
        )
    assert raised.value.param == "dimensions"
    if code:
        assert raised.value.code == code
    assert platform.balance(account) == 1_000_000_000
