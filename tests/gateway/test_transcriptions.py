"""POST /v1/audio/transcriptions through the official SDK against the real local
transcription server (PocketSphinx, its model shipped in its wheel): the gateway measures
the audio itself and bills its seconds exactly, every response format comes back in
OpenAI's shape, a bad field is a 400 naming it and costs nothing, an upstream that is down
releases the hold, and speech made by the real eSpeak server is heard again."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import httpx
import openai
import pytest

from gptapi.gateway.upstream.registry import ServerSpec
from tests.gateway.admission import assert_books_balance, assert_openai_error, available_credit
from tests.gateway.test_openai_sdk import client
from tests.support.audio_servers import audio_server, require
from tests.support.databases import fresh_database
from tests.support.fake_upstream import FakeLlamaServer
from tests.support.platform import Account, Platform, test_settings as settings_for

PER_SECOND = 100_000  # nano-dollars ($0.006 a minute)
CREDIT = 1_000_000_000
SPOKEN = "one two three four five. Hello there."


def espeak_wav(text: str, folder: Path) -> bytes:
    """`text` spoken by eSpeak NG itself, as a 22,050 Hz WAV file."""
    require("espeak-ng")
    path = folder / "spoken.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    return path.read_bytes()


def seconds_of(audio: bytes) -> int:
    with wave.open(io.BytesIO(audio)) as reader:
        return int(-(-reader.getnframes() // reader.getframerate()))


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return espeak_wav(SPOKEN, tmp_path_factory.mktemp("audio"))


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """`whisper-1` on the real transcription server, `tts-1` on the real speech server,
    `whisper-down` on a server whose every request is a 503 and `whisper-broken` on one whose
    every answer is an HTML page."""
    logs = tmp_path_factory.mktemp("audio-logs")
    down = FakeLlamaServer(mode="unavailable").start()
    broken = FakeLlamaServer(mode="not_json").start()
    tmp: Path = tmp_path_factory.mktemp(f"transcriptions-{backend}")
    with (
        audio_server("transcription", logs, "whisper-1") as heard,
        audio_server("speech", logs, "tts-1") as spoken,
        fresh_database(backend, tmp) as url,
    ):
        platform = Platform(settings_for(url, tmp))
        for name in ("whisper-1", "whisper-down", "whisper-broken"):
            platform.add_model(name, kind="transcription", input_price=PER_SECOND, output_price=0)
        platform.add_model("tts-1", kind="speech", input_price=15_000, output_price=0)
        platform.set_servers(
            "audio",
            [
                ServerSpec(model="whisper-1", base_url=heard),
                ServerSpec(model="tts-1", base_url=spoken),
                ServerSpec(model="whisper-down", base_url=down.url),
                ServerSpec(model="whisper-broken", base_url=broken.url),
            ],
        )
        try:
            with platform.serving(timeout=30):
                yield platform
        finally:
            down.stop()
            broken.stop()


def transcribe(gateway: Platform, account: Account, audio: bytes, **fields: Any) -> httpx.Response:
    data = {"model": "whisper-1", **fields}
    return httpx.post(
        f"{gateway.url}/v1/audio/transcriptions",
        headers={"Authorization": f"Bearer {account.secret}"},
        data=data,
        files={"file": ("spoken.wav", audio, "audio/wav")},
        timeout=60,
    )


def test_the_audio_is_heard_and_its_seconds_billed(gateway: Platform, audio: bytes) -> None:
    account = gateway.account("1")
    seconds = seconds_of(audio)
    sdk = client(gateway, account)
    raw = sdk.audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=("spoken.wav", audio, "audio/wav")
    )
    body = raw.http_response.json()
    assert "hello there" in body["text"] and "three four five" in body["text"]
    cost = seconds * PER_SECOND
    assert body["usage"] == {
        "type": "duration",
        "seconds": seconds,
        "cost": f"{cost / 1e9:.9f}",
        "cost_nanos": cost,
    }
    assert raw.headers["x-request-audio-seconds"] == str(seconds)
    assert raw.parse().text == body["text"]
    (record,) = gateway.usage(account)
    assert (record.endpoint, record.outcome) == ("audio.transcriptions", "completed")
    assert (record.audio_seconds, record.characters) == (seconds, 0)
    assert record.cost_nanos == record.hold_nanos == cost
    assert assert_books_balance(gateway, account, CREDIT) == cost


def test_every_response_format_in_openais_shape(gateway: Platform, audio: bytes) -> None:
    account = gateway.account("1")
    sdk = client(gateway, account)
    verbose = sdk.audio.transcriptions.create(
        model="whisper-1",
        file=("spoken.wav", audio, "audio/wav"),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="en",
        temperature=0,
    )
    assert verbose.language == "english" and verbose.duration > 2
    assert verbose.words and verbose.words[0].start < verbose.words[-1].end
    assert verbose.segments and len(verbose.segments) >= 2  # split at the pause
    assert "hello" in verbose.text
    text = transcribe(gateway, account, audio, response_format="text")
    assert text.headers["content-type"].startswith("text/plain")
    assert "hello there" in text.text and text.headers["x-request-cost-nanos"]
    srt = transcribe(gateway, account, audio, response_format="srt").text
    assert srt.startswith("1\n00:00:00,") and " --> " in srt and "\n2\n" in srt
    vtt = transcribe(gateway, account, audio, response_format="vtt").text
    assert vtt.startswith("WEBVTT\n\n00:00:00.")
    assert len(gateway.usage(account)) == 4
    assert assert_books_balance(gateway, account, CREDIT) == 4 * seconds_of(audio) * PER_SECOND


def test_speech_from_the_speech_server_is_heard_again(gateway: Platform) -> None:
    account = gateway.account("1")
    sdk = client(gateway, account)
    text = "One two three four five."
    spoken = sdk.audio.speech.create(
        model="tts-1", voice="alloy", input=text, response_format="wav"
    ).content
    heard = sdk.audio.transcriptions.create(model="whisper-1", file=("count.wav", spoken))
    assert heard.text == "one two three four five"
    speech, transcription = gateway.usage(account)
    assert speech.characters == len(text)
    assert transcription.audio_seconds == seconds_of(spoken)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"response_format": "diarized_json"}, "response_format"),
        ({"temperature": "2"}, "temperature"),
        ({"temperature": "warm"}, "temperature"),
        ({"temperature": "0.5"}, "temperature"),  # in OpenAI's range: this engine is greedy
        ({"language": "fr"}, "language"),
        ({"language": "English"}, "language"),
        ({"prompt": "A list of numbers."}, "prompt"),
        ({"timestamp_granularities[]": "word"}, "timestamp_granularities"),
        ({"include[]": "logprobs"}, "include"),
        ({"stream": "true"}, "stream"),
        ({"chunking_strategy": "auto"}, "chunking_strategy"),
        ({"model": "tts-1"}, "model"),
    ],
)
def test_a_bad_field_is_a_400_naming_it_and_free(
    gateway: Platform, audio: bytes, fields: dict[str, Any], param: str
) -> None:
    account = gateway.account("1")
    response = transcribe(gateway, account, audio, **fields)
    assert response.status_code == 400, response.text
    assert_openai_error(response, 400, ANY, param=param)
    assert assert_books_balance(gateway, account, CREDIT) == 0


@pytest.mark.parametrize(
    "file", [b"ID3\x03\x00\x00\x00 not a wav", b"", b"RIFF\x24\x00\x00\x00WAVEfmt "]
)
def test_audio_the_gateway_cannot_measure_is_a_400_naming_file(
    gateway: Platform, file: bytes
) -> None:
    account = gateway.account("1")
    response = transcribe(gateway, account, file)
    assert response.status_code == 400, response.text
    assert_openai_error(response, 400, ANY, param="file")
    assert gateway.usage(account) == []


def test_a_missing_file_or_a_json_body_is_a_400(gateway: Platform) -> None:
    account = gateway.account("1")
    headers = {"Authorization": f"Bearer {account.secret}"}
    url = f"{gateway.url}/v1/audio/transcriptions"
    missing = httpx.post(url, headers=headers, data={"model": "whisper-1"}, files={"x": b""})
    assert_openai_error(missing, 400, ANY, param=ANY)
    no_file = httpx.post(url, headers=headers, files={"model": (None, "whisper-1")})
    assert_openai_error(no_file, 400, ANY, param="file")
    as_json = httpx.post(url, headers=headers, json={"model": "whisper-1"})
    assert_openai_error(as_json, 400, ANY)


def test_upstream_down_releases_the_hold(gateway: Platform, audio: bytes) -> None:
    account = gateway.account("1")
    sdk = client(gateway, account, max_retries=0)
    with pytest.raises(openai.APIStatusError) as raised:
        sdk.audio.transcriptions.create(model="whisper-down", file=("a.wav", audio))
    assert raised.value.status_code == 503
    (record,) = gateway.usage(account)
    assert (record.hold_nanos, record.cost_nanos) == (seconds_of(audio) * PER_SECOND, 0)
    assert assert_books_balance(gateway, account, CREDIT) == 0
    assert available_credit(gateway, account) == CREDIT


def test_an_unusable_answer_is_a_502_and_free(gateway: Platform, audio: bytes) -> None:
    account = gateway.account("1")
    response = transcribe(gateway, account, audio, model="whisper-broken")
    assert response.status_code == 502
    (record,) = gateway.usage(account)
    assert (record.outcome, record.cost_nanos) == ("upstream_error", 0)
    assert assert_books_balance(gateway, account, CREDIT) == 0
    assert available_credit(gateway, account) == CREDIT


def test_models_lists_the_transcription_capability_and_its_unit(gateway: Platform) -> None:
    account = gateway.account("1")
    shown = httpx.get(
        f"{gateway.url}/v1/models/whisper-1",
        headers={"Authorization": f"Bearer {account.secret}"},
    ).json()
    assert shown["capabilities"]["transcription"] is True
    assert shown["pricing"] == {"currency": "USD", "unit": "minute", "input": "0.006"}


def test_the_sample_in_docs_audio_runs(gateway: Platform, tmp_path: Path) -> None:
    account = gateway.account("1")
    docs = (Path(__file__).parents[2] / "docs" / "audio.md").read_text()
    (sample,) = re.findall(r"```python\n(.*?)```", docs, flags=re.DOTALL)
    code = sample.replace("http://127.0.0.1:8000", gateway.url).replace(
        '"gpt_live_…"', repr(account.secret)
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "one two three four five"
    assert {r.endpoint for r in gateway.usage(account)} == {
        "audio.speech",
        "audio.transcriptions",
    }


SPEECH_GARBAGE: list[bytes] = [
    b"not json",
    b"[]",
    b'{"model": "tts-1", "voice": "alloy", "input": 5}',
    b'{"model": "tts-1", "voice": ["alloy"], "input": "hi"}',
    b'{"model": "tts-1", "voice": "alloy", "input": "hi", "speed": "fast"}',
    b'{"model": "tts-1", "voice": "alloy", "input": "hi", "speed": true}',
    b'{"model": "tts-1", "voice": "alloy", "input": "hi", "speed": 1e999}',
    b'{"model": "tts-1", "voice": "alloy", "input": "hi", "response_format": null}',
    b'{"model": "tts-1", "voice": "alloy", "input": "\\u0000"}',
    b'{"model": "tts-1", "voice": "alloy", "input": "   "}',
    b'{"model": "tts-1", "voice": "alloy", "input": "\\ud83d\\ude00 ..."}',
]


@pytest.mark.parametrize("body", SPEECH_GARBAGE)
def test_malformed_speech_is_never_a_server_error(gateway: Platform, body: bytes) -> None:
    account = gateway.account("1")
    response = httpx.post(
        f"{gateway.url}/v1/audio/speech",
        headers={"Authorization": f"Bearer {account.secret}", "Content-Type": "application/json"},
        content=body,
        timeout=60,
    )
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert_openai_error(response, 400, ANY)
    assert_books_balance(gateway, account, CREDIT)


TRANSCRIPTION_GARBAGE: list[dict[str, Any]] = [
    {"content": b"garbage", "headers": {"Content-Type": "multipart/form-data"}},
    {"content": b"garbage", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
    {"data": {"model": "whisper-1", "file": "not an upload"}},
    {"data": {"model": "whisper-1"}, "files": [("file", b"a"), ("file", b"b")]},
    {"data": {"model": ["whisper-1", "whisper-1"]}, "files": {"file": b"RIFF"}},
    {"data": {"model": "whisper-1", "temperature": "nan"}, "files": {"file": b"RIFF"}},
    {"data": {"model": "whisper-1", "stream": "yes"}, "files": {"file": b"RIFF"}},
]


@pytest.mark.parametrize("request_parts", TRANSCRIPTION_GARBAGE)
def test_malformed_transcriptions_are_400s(
    gateway: Platform, request_parts: dict[str, Any]
) -> None:
    account = gateway.account("1")
    headers = {"Authorization": f"Bearer {account.secret}", **request_parts.pop("headers", {})}
    response = httpx.post(
        f"{gateway.url}/v1/audio/transcriptions", headers=headers, timeout=60, **request_parts
    )
    assert response.status_code == 400, response.text
    assert_openai_error(response, 400, ANY)
    assert gateway.usage(account) == []


def test_a_streamed_wav_is_measured_by_its_samples(gateway: Platform) -> None:
    """eSpeak writing to stdout cannot go back to fill in the header's length (it claims
    about a day of audio): the gateway bills the samples that are there."""
    streamed = subprocess.run(
        ["espeak-ng", "-v", "en-us", "--stdout", "one two three"], capture_output=True, check=True
    ).stdout
    with wave.open(io.BytesIO(streamed)) as reader:
        assert reader.getnframes() / reader.getframerate() > 3600  # what the header says
        rate = reader.getframerate()
    samples = (len(streamed) - 44) // 2
    account = gateway.account("1")
    response = transcribe(gateway, account, streamed)
    assert response.status_code == 200, response.text
    seconds = -(-samples // rate)
    assert response.json()["usage"]["seconds"] == seconds < 5
    assert gateway.usage(account)[0].cost_nanos == seconds * PER_SECOND
