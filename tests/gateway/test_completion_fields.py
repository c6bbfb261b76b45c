"""`/v1/completions` `echo` and `suffix` through the official SDK against real llama.cpp:
honoured, or a 400 naming the field."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.gateway.test_openai_sdk import client
from tests.support.platform import Platform


def test_echo_puts_each_prompt_before_its_completions(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"))
    single = sdk.completions.create(model="gpt-fast", prompt="Once upon", max_tokens=3, echo=True)
    assert single.choices[0].text.startswith("Once upon")
    assert len(single.choices[0].text) > len("Once upon")
    several = sdk.completions.create(
        model="gpt-fast", prompt=["The sky is", "Water is"], n=2, max_tokens=3, echo=True
    )
    starts = [c.text.split(" is")[0] for c in sorted(several.choices, key=lambda c: c.index)]
    assert starts == ["The sky", "The sky", "Water", "Water"]
    # Billing is unchanged: the echoed prompt is not output.
    assert several.usage is not None and several.usage.completion_tokens <= 12


def test_without_echo_the_prompt_is_not_repeated(platform: Platform) -> None:
    sdk = client(platform, platform.account("1"))
    completion = sdk.completions.create(
        model="gpt-fast", prompt="Once upon", max_tokens=3, echo=False, suffix=""
    )
    assert not completion.choices[0].text.startswith("Once upon")


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"suffix": " and they lived happily."}, "suffix"),
        ({"echo": True, "stream": True}, "echo"),
        ({"echo": True, "logprobs": 1}, "echo"),
        ({"echo": True, "prompt": [1, 2, 3]}, "echo"),
    ],
)
def test_unsupported_combinations_are_400s_naming_the_field(
    platform: Platform, fields: dict[str, Any], param: str
) -> None:
    sdk = client(platform, platform.account("1"), max_retries=0)
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.completions.create(**{"model": "gpt-fast", "prompt": "Once", "max_tokens": 2, **fields})
    assert raised.value.param == param
    assert raised.value.code == "unsupported_parameter"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("requested", [0, 2])
def test_logprobs_come_in_the_legacy_completions_shape(
    platform: Platform, stream: bool, requested: int
) -> None:
    sdk = client(platform, platform.account("1"))
    fields: dict[str, Any] = {"model": "gpt-fast", "prompt": "The sky is", "max_tokens": 4}
    fields |= {"temperature": 0, "logprobs": requested}
    text = ""
    tokens: list[str] = []
    token_logprobs: list[float] = []
    top: list[dict[str, float]] = []
    offsets: list[int] = []
    if stream:
        for chunk in sdk.completions.create(**fields, stream=True):
            for choice in chunk.choices:
                text += choice.text
                if choice.logprobs is not None:
                    tokens += choice.logprobs.tokens or []
                    token_logprobs += choice.logprobs.token_logprobs or []
                    top += choice.logprobs.top_logprobs or []
                    offsets += choice.logprobs.text_offset or []
    else:
        choice = sdk.completions.create(**fields).choices[0]
        assert choice.logprobs is not None
        text = choice.text
        tokens = choice.logprobs.tokens or []
        token_logprobs = choice.logprobs.token_logprobs or []
        top = choice.logprobs.top_logprobs or []
        offsets = choice.logprobs.text_offset or []
    assert "".join(tokens) == text and len(tokens) == 4
    assert all(value <= 0 for value in token_logprobs)
    # Each token's offset in the text, and its own figure among at most `logprobs` + 1.
    assert offsets == [len("".join(tokens[:i])) for i in range(len(tokens))]
    for token, value, alternatives in zip(tokens, token_logprobs, top, strict=True):
        assert alternatives[token] == value
        assert 1 <= len(alternatives) <= requested + 1
