"""POST /v1/audio/speech through the official SDK against the real local speech server
(eSpeak NG): real audio comes back, the characters are billed exactly (held before, settled
after), a bad field is a 400 naming it and costs nothing, and an upstream that is down is a
retryable error with the hold released."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import httpx
import openai
import pytest

from gptapi.gateway.upstream.registry import ServerSpec
from gptapi.inference.speech import RATE, encoders
from tests.gateway.admission import (
    assert_books_balance,
    assert_openai_error,
    available_credit,
)
from tests.gateway.test_openai_sdk import client
from tests.gateway.test_test_mode_keys import free_key
from tests.support.audio_servers import audio_server, require
from tests.support.databases import fresh_database
from tests.support.fake_upstream import FakeLlamaServer
from tests.support.platform import Account, Platform, test_settings as settings_for

PRICE = 15_000  # nano-dollars per character ($15 per 1M)
CREDIT = 1_000_000_000
TEXT = "The quick brown fox jumps over the lazy dog."


@pytest.fixture(scope="module")
def speech_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with audio_server("speech", tmp_path_factory.mktemp("speech"), "tts-1") as url:
        yield url


@pytest.fixture(scope="module")
def gateway(
    backend: str, speech_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """`tts-1` on the real speech server; `tts-down` on a server whose speech endpoint is
    down (healthy by its probes, 503 on every request)."""
    down = FakeLlamaServer(mode="unavailable").start()
    tmp: Path = tmp_path_factory.mktemp(f"speech-{backend}")
    with fresh_database(backend, tmp) as url:
        platform = Platform(settings_for(url, tmp))
        platform.add_model("tts-1", kind="speech", input_price=PRICE, output_price=0)
        platform.add_model("tts-down", kind="speech", input_price=PRICE, output_price=0)
        platform.add_model("chatty", input_price=1, output_price=1)
        platform.set_servers(
            "speech",
            [
                ServerSpec(model="tts-1", base_url=speech_server),
                ServerSpec(model="tts-down", base_url=down.url),
                ServerSpec(model="chatty", base_url=down.url),
            ],
        )
        try:
            with platform.serving(timeout=30):
                yield platform
        finally:
            down.stop()


def speak(gateway: Platform, account: Account, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/v1/audio/speech",
        headers={"Authorization": f"Bearer {account.secret}"},
        json={"model": "tts-1", "voice": "alloy", "input": TEXT, **body},
        timeout=60,
    )


def duration(audio: bytes) -> float:
    with wave.open(io.BytesIO(audio)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
        assert reader.getframerate() == RATE
        return float(reader.getnframes()) / RATE


def test_real_audio_comes_back_and_the_characters_are_billed(gateway: Platform) -> None:
    account = gateway.account("1")
    sdk = client(gateway, account)
    response = sdk.audio.speech.with_raw_response.create(
        model="tts-1", voice="nova", input=TEXT, response_format="wav"
    )
    audio = response.content
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    assert response.headers["content-type"] == "audio/wav"
    assert duration(audio) > 1.0  # a sentence, not a click
    cost = len(TEXT) * PRICE
    assert response.headers["x-request-cost-nanos"] == str(cost)
    assert response.headers["x-request-cost"] == f"{cost / 1e9:.9f}"
    assert response.headers["x-request-characters"] == str(len(TEXT))
    (record,) = gateway.usage(account)
    assert (record.endpoint, record.outcome, record.status) == ("audio.speech", "completed", 200)
    assert (record.characters, record.audio_seconds) == (len(TEXT), 0)
    assert (record.prompt_tokens, record.completion_tokens) == (0, 0)
    assert record.cost_nanos == record.hold_nanos == cost
    assert assert_books_balance(gateway, account, CREDIT) == cost


def test_pcm_is_the_wav_samples_and_speed_is_honoured(gateway: Platform) -> None:
    account = gateway.account("1")
    wav = speak(gateway, account, response_format="wav")
    pcm = speak(gateway, account, response_format="pcm")
    fast = speak(gateway, account, response_format="wav", speed=2.0)
    assert pcm.headers["content-type"] == "audio/pcm"
    assert pcm.content == wav.content[44:]  # the same samples without the 44-byte header
    assert duration(fast.content) < 0.75 * duration(wav.content)
    assert len(gateway.usage(account)) == 3
    assert_books_balance(gateway, account, CREDIT)


def test_the_sdk_default_format_is_mp3(gateway: Platform) -> None:
    require("lame")
    account = gateway.account("1")
    response = client(gateway, account).audio.speech.with_raw_response.create(
        model="tts-1", voice="alloy", input="Hello."
    )
    audio = response.content
    assert response.headers["content-type"] == "audio/mpeg"
    assert audio[:3] == b"ID3" or (audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0)
    assert gateway.usage(account)[0].cost_nanos == len("Hello.") * PRICE


def _unmade_format() -> str | None:
    return next((f for f in ("aac", "opus", "flac") if f not in encoders()), None)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"voice": "bob"}, "voice"),
        ({"voice": None}, "voice"),
        ({"input": ""}, "input"),
        ({"input": "x" * 4097}, "input"),
        ({"response_format": "ogg"}, "response_format"),
        ({"speed": 5}, "speed"),
        ({"speed": 0.3}, "speed"),  # inside OpenAI's range, below what eSpeak can do
        ({"instructions": "Speak like a pirate."}, "instructions"),
        ({"stream_format": "sse"}, "stream_format"),
        ({"temperature": 1}, "temperature"),
        ({"model": "chatty"}, "model"),
    ],
)
def test_a_bad_field_is_a_400_naming_it_and_free(
    gateway: Platform, body: dict[str, Any], param: str
) -> None:
    account = gateway.account("1")
    response = speak(gateway, account, **body)
    assert response.status_code == 400, response.text
    assert_openai_error(response, 400, ANY, param=param)
    assert all(r.cost_nanos == 0 for r in gateway.usage(account))
    assert assert_books_balance(gateway, account, CREDIT) == 0


def test_a_format_no_encoder_makes_is_a_400_naming_it(gateway: Platform) -> None:
    unmade = _unmade_format()
    if unmade is None:
        pytest.skip("every encoder is installed")
    account = gateway.account("1")
    response = speak(gateway, account, response_format=unmade)
    assert response.status_code == 400
    error = assert_openai_error(response, 400, ANY, param="response_format")
    assert unmade in error["message"]
    assert assert_books_balance(gateway, account, CREDIT) == 0


def test_upstream_down_is_retryable_and_the_hold_is_released(gateway: Platform) -> None:
    account = gateway.account("1")
    sdk = client(gateway, account, max_retries=0)
    with pytest.raises(openai.APIStatusError) as raised:
        sdk.audio.speech.create(model="tts-down", voice="alloy", input=TEXT)
    assert raised.value.status_code == 503
    assert raised.value.response.headers.get("x-should-retry") != "false"
    (record,) = gateway.usage(account)
    assert record.hold_nanos == len(TEXT) * PRICE  # it was held…
    assert record.cost_nanos == 0  # …and released
    assert assert_books_balance(gateway, account, CREDIT) == 0
    assert available_credit(gateway, account) == CREDIT


def test_not_enough_credit_is_refused_before_anything_is_sent(gateway: Platform) -> None:
    account = gateway.account("0.0001")  # 100,000 n$: fewer than 7 characters
    response = speak(gateway, account)
    assert response.status_code == 429
    error = assert_openai_error(response, 429, "insufficient_quota", type="insufficient_quota")
    assert f"{len(TEXT)} characters" in error["message"]
    assert gateway.usage(account) == []


def test_models_lists_the_speech_capability_and_its_unit(gateway: Platform) -> None:
    account = gateway.account("1")
    shown = httpx.get(
        f"{gateway.url}/v1/models/tts-1", headers={"Authorization": f"Bearer {account.secret}"}
    ).json()
    assert shown["type"] == "speech"
    assert shown["capabilities"]["speech"] is True
    assert shown["capabilities"]["chat"] is False
    assert shown["pricing"] == {"currency": "USD", "unit": "1M characters", "input": "15"}


def test_a_test_mode_key_is_served_free_with_its_characters_recorded(gateway: Platform) -> None:
    live = gateway.account("0")  # nothing to spend: a test-mode key needs no credit
    key = free_key(gateway, live)
    response = speak(gateway, key, response_format="wav")
    assert response.status_code == 200, response.text
    assert response.headers["x-request-cost-nanos"] == "0"
    (record,) = gateway.usage(key)
    assert (record.test_mode, record.cost_nanos, record.characters) == (True, 0, len(TEXT))
    assert all(e.kind != "usage" for e in gateway.ledger_entries(key))
