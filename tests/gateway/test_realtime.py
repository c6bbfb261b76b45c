"""The WebSocket endpoints, driven as a client would drive them, against the real local
engines: eSpeak NG speaks, PocketSphinx hears, SmolLM2 on llama.cpp answers. Each turn is a
request of its own, billed exactly as over HTTP; bad keys close the session with 1008, bad
events are `error` events the session survives, and a client that leaves mid-turn leaves no
credit held."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from gptapi.inference.launcher import LocalFleet
from tests.gateway.admission import assert_books_balance, available_credit
from tests.gateway.test_transcriptions import espeak_wav
from tests.support.audio_servers import local_audio
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings as settings_for
from tests.support.threads import wait_until

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

PER_CHARACTER = 15_000  # nano-dollars ($15 per million characters)
PER_SECOND = 100_000
CREDIT = 1_000_000_000
CHAT = "gpt-fast"


@pytest.fixture(scope="module")
def gateway(
    backend: str, llama_fleet: LocalFleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    logs = tmp_path_factory.mktemp("realtime-logs")
    tmp: Path = tmp_path_factory.mktemp(f"realtime-{backend}")
    with fresh_database(backend, tmp) as url:
        platform = Platform(settings_for(url, tmp))
        with local_audio(
            platform, logs, per_character=PER_CHARACTER, per_second=PER_SECOND
        ) as audio:
            platform.set_servers("audio", audio)
            platform.set_servers("local", llama_fleet.specs())
            with platform.serving(timeout=30):
                yield platform


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, int]:
    """A few seconds of eSpeak NG speaking, as raw 16-bit mono samples and their rate."""
    audio = espeak_wav("one two three four five. Hello there.", tmp_path_factory.mktemp("a"))
    with wave.open(io.BytesIO(audio)) as reader:
        return reader.readframes(reader.getnframes()), reader.getframerate()


def ws(gateway: Platform, path: str, secret: str | None) -> ClientConnection:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return connect(_url(gateway, path), additional_headers=headers, open_timeout=10)


def _url(gateway: Platform, path: str) -> str:
    return gateway.url.replace("http://", "ws://") + path


def send(socket: ClientConnection, kind: str, **fields: Any) -> None:
    socket.send(orjson.dumps({"type": kind, **fields}).decode())


def until(
    socket: ClientConnection, kind: str
) -> tuple[dict[str, Any], list[dict[str, Any]], bytes]:
    """Read until an event of `kind`: it, the events before it, and the audio received."""
    events: list[dict[str, Any]] = []
    audio = b""
    while True:
        message = socket.recv(timeout=120)
        if isinstance(message, bytes):
            audio += message
            continue
        event = orjson.loads(message)
        if event["type"] == kind:
            return event, events, audio
        events.append(event)


def test_speech_is_spoken_a_sentence_at_a_time_as_the_text_arrives(gateway: Platform) -> None:
    account = gateway.account("1")
    with ws(gateway, "/ws/audio/speech", account.secret) as socket:
        send(socket, "session.update", session={"model": "tts-1", "voice": "alloy"})
        updated, _, _ = until(socket, "session.updated")
        assert updated["session"] == {"model": "tts-1", "voice": "alloy", "response_format": "pcm"}

        # The first sentence is spoken before the text is finished.
        send(socket, "input_text.append", text="Hello there. This is")
        first, before, audio = until(socket, "speech.segment.done")
        assert before == [] and first["text"] == "Hello there."
        assert len(audio) > 24_000 and len(audio) % 2 == 0  # 24 kHz 16-bit samples
        assert first["usage"] == {
            "characters": 12,
            "cost": f"{12 * PER_CHARACTER / 1e9:.9f}",
            "cost_nanos": 12 * PER_CHARACTER,
        }

        send(socket, "input_text.append", text=" a test")
        send(socket, "input_text.commit")
        second, _, audio = until(socket, "speech.segment.done")
        assert second["text"] == "This is a test" and audio
        done, _, _ = until(socket, "speech.done")
        # The whole text since the last commit: both sentences.
        assert done["segments"] == 2
        assert done["usage"]["characters"] == 26

    rows = gateway.usage(account)
    assert [(r.endpoint, r.characters, r.request_id) for r in rows] == [
        ("audio.speech", 12, first["request_id"]),
        ("audio.speech", 14, second["request_id"]),
    ]
    assert assert_books_balance(gateway, account, CREDIT) == 26 * PER_CHARACTER


def test_audio_is_transcribed_a_segment_at_a_time(
    gateway: Platform, spoken: tuple[bytes, int]
) -> None:
    pcm, rate = spoken
    account = gateway.account("1")
    with ws(gateway, "/ws/audio/transcriptions", account.secret) as socket:
        send(
            socket,
            "session.update",
            session={"model": "whisper-1", "sample_rate": rate, "segment_seconds": 2},
        )
        until(socket, "session.updated")
        for start in range(0, len(pcm), 4096):  # as a microphone sends it
            socket.send(pcm[start : start + 4096])
        first, _, _ = until(socket, "transcript.delta")  # before the utterance ends
        assert first["usage"]["seconds"] == 2
        send(socket, "input_audio.commit")
        done, deltas, _ = until(socket, "transcript.done")

    deltas = [first, *deltas]
    assert "three four five" in done["text"]  # (a segment boundary cuts "hello")
    assert done["text"] == " ".join(d["text"] for d in deltas if d["text"])
    whole, rest = divmod(len(pcm) // 2, rate)
    seconds = whole + (1 if rest else 0)
    assert sum(d["usage"]["seconds"] for d in deltas) == done["usage"]["seconds"] == seconds
    assert done["usage"]["cost_nanos"] == seconds * PER_SECOND
    rows = gateway.usage(account)
    assert [r.request_id for r in rows] == [d["request_id"] for d in deltas]
    assert {r.endpoint for r in rows} == {"audio.transcriptions"}
    assert assert_books_balance(gateway, account, CREDIT) == seconds * PER_SECOND


def test_the_voice_agent_hears_answers_and_speaks(
    gateway: Platform, spoken: tuple[bytes, int]
) -> None:
    pcm, rate = spoken
    account = gateway.account("1")
    with ws(gateway, "/ws/voice-agent", account.secret) as socket:
        settings = {
            "model": CHAT,
            "instructions": "You are a helpful assistant. Answer in one short sentence.",
            "max_tokens": 24,
            "temperature": 0,
            "transcription_model": "whisper-1",
            "speech_model": "tts-1",
            "voice": "alloy",
            "sample_rate": rate,
        }
        send(socket, "session.update", session=settings)
        until(socket, "session.updated")
        socket.send(pcm)
        send(socket, "input_audio.commit")
        heard, _, _ = until(socket, "transcript.done")
        assert "hello" in heard["text"]
        # The reply streams: its words as they are written, each sentence spoken as soon as
        # it ends, while the rest is still being written.
        done, events, audio = until(socket, "response.done")
        (said,) = [e for e in events if e["type"] == "response.text.done"]
        assert said["text"] and said["usage"]["completion_tokens"] > 0
        deltas = [e["delta"] for e in events if e["type"] == "response.text.delta"]
        assert "".join(deltas).strip() == said["text"]
        segments = [e for e in events if e["type"] == "speech.segment.done"]
        assert audio and segments
        assert " ".join(s["text"] for s in segments) == " ".join(said["text"].split())
        usage = done["usage"]
        assert usage["transcription"]["seconds"] > 0
        assert usage["speech"]["characters"] == sum(len(s["text"]) for s in segments)
        parts = ("transcription", "chat", "speech")
        assert usage["cost_nanos"] == sum(usage[p]["cost_nanos"] for p in parts)

        # A typed turn: the conversation so far goes with it.
        send(socket, "input_text", text="And what is two plus two?")
        again = next(
            e for e in until(socket, "response.done")[1] if e["type"] == "response.text.done"
        )
        assert again["usage"]["prompt_tokens"] > said["usage"]["prompt_tokens"] + 10

    # The first answer's requests are billed what response.done said, each as its surface.
    first = {heard["request_id"], said["request_id"], *(s["request_id"] for s in segments)}
    rows = [r for r in gateway.usage(account) if r.request_id in first]
    assert len(rows) == len(first)
    assert sorted(r.endpoint for r in rows) == [
        "audio.speech",
    ] * len(segments) + ["audio.transcriptions", "chat.completions"]
    assert sum(r.cost_nanos for r in rows) == usage["cost_nanos"]
    assert_books_balance(gateway, account, CREDIT)


def test_a_refused_key_closes_the_session_with_1008(gateway: Platform) -> None:
    for secret, code in ((None, "missing_api_key"), ("sk-wrong", "invalid_api_key")):
        with ws(gateway, "/ws/audio/speech", secret) as socket:
            event = orjson.loads(socket.recv(timeout=10))
            assert event["type"] == "error" and event["error"]["code"] == code
            with pytest.raises(ConnectionClosed) as closed:
                socket.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    # A browser, which cannot set headers, offers the key as a subprotocol.
    account = gateway.account("1")
    protocols: Any = ["realtime", f"openai-insecure-api-key.{account.secret}"]
    with connect(_url(gateway, "/ws/audio/speech"), subprotocols=protocols) as socket:
        assert socket.subprotocol == "realtime"
        send(socket, "session.update", session={"model": "tts-1", "voice": "alloy"})
        assert until(socket, "session.updated")[0]["session"]["model"] == "tts-1"


def test_bad_events_are_errors_the_session_survives(gateway: Platform) -> None:
    account = gateway.account("1")
    with ws(gateway, "/ws/audio/transcriptions", account.secret) as socket:
        socket.send("not json")
        assert until(socket, "error")[0]["error"]["code"] == "invalid_event"
        send(socket, "response.create")
        error = until(socket, "error")[0]["error"]
        assert (error["code"], error["param"]) == ("unknown_event", "type")
        send(socket, "session.update", session={"model": "whisper-1", "vad": True})
        assert until(socket, "error")[0]["error"]["param"] == "session.vad"
        send(socket, "session.update", session={"sample_rate": 100})
        assert until(socket, "error")[0]["error"]["param"] == "session.sample_rate"
        socket.send(b"\x00\x00" * 100)  # audio before a model is set
        assert until(socket, "error")[0]["error"]["param"] == "session.model"
        send(socket, "session.update", session={"model": "whisper-1"})
        assert until(socket, "session.updated")[0]["session"]["sample_rate"] == 16_000

    with ws(gateway, "/ws/audio/speech", account.secret) as socket:
        socket.send(b"\x00\x00")
        assert until(socket, "error")[0]["error"]["code"] == "invalid_event"
        # A turn the surface refuses is an error naming its request; the next one works.
        send(socket, "session.update", session={"model": "tts-1", "voice": "alloy", "speed": 9})
        until(socket, "session.updated")
        send(socket, "input_text.append", text="Too fast.\n")
        refused = until(socket, "error")[0]
        assert refused["error"]["param"] == "speed" and refused["request_id"].startswith("req_")
        # null is the default again (pcm), not the surface's own (mp3).
        send(socket, "session.update", session={"speed": None, "response_format": None})
        assert until(socket, "session.updated")[0]["session"] == {
            "model": "tts-1",
            "voice": "alloy",
            "response_format": "pcm",
        }
        send(socket, "input_text.append", text="Just right.\n")
        assert until(socket, "speech.segment.done")[0]["text"] == "Just right."
    assert [r.characters for r in gateway.usage(account)] == [11]


def test_no_credit_is_an_error_and_a_client_leaving_mid_turn_holds_nothing(
    gateway: Platform,
) -> None:
    poor = gateway.account("0.0000001")  # 100 nano-dollars: not one sentence
    with ws(gateway, "/ws/audio/speech", poor.secret) as socket:
        send(socket, "session.update", session={"model": "tts-1", "voice": "alloy"})
        send(socket, "input_text.append", text="Hello there.\n")
        assert until(socket, "error")[0]["error"]["code"] == "insufficient_quota"

    account = gateway.account("1")
    with ws(gateway, "/ws/audio/speech", account.secret) as socket:
        send(socket, "session.update", session={"model": "tts-1", "voice": "alloy"})
        send(socket, "input_text.append", text="A long sentence that takes a while to say. " * 8)
    # And from the voice agent, mid-reply: the chat stream ends as a client leaving ends it.
    with ws(gateway, "/ws/voice-agent", account.secret) as socket:
        session = {"model": CHAT, "speech_model": "tts-1", "voice": "alloy", "max_tokens": 64}
        send(socket, "session.update", session=session)
        send(socket, "input_text", text="Tell me a story about a dragon.")
        until(socket, "response.text.delta")
    wait_until(lambda: available_credit(gateway, account) == gateway.balance(account), timeout=60)
    assert_books_balance(gateway, account, CREDIT)
    assert "chat.completions" in {r.endpoint for r in gateway.usage(account)}


def test_the_sample_in_docs_realtime_runs(gateway: Platform, tmp_path: Path) -> None:
    account = gateway.account("1")
    docs = (Path(__file__).parents[2] / "docs" / "realtime.md").read_text()
    (sample,) = re.findall(r"```python\n(.*?)```", docs, flags=re.DOTALL)
    code = sample.replace("ws://127.0.0.1:8000", _url(gateway, "")).replace(
        '"gpt_live_…"', repr(account.secret)
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        f"Hello there. {12 * PER_CHARACTER / 1e9:.9f}",
        f"How are you today? {18 * PER_CHARACTER / 1e9:.9f}",
    ]
    assert (tmp_path / "speech.pcm").stat().st_size > 48_000
    assert [r.characters for r in gateway.usage(account)] == [12, 18]
